// A minimal app for docker-compose: it uses the sidecar's Dapr HTTP state API with plain fetch.
const http = require('node:http');
const dapr = `http://localhost:${process.env.DAPR_HTTP_PORT || 3500}/v1.0/state/statestore`;

http
  .createServer(async (req, res) => {
    const key = 'visits';
    const current = await fetch(`${dapr}/${key}`).then((r) => (r.status === 200 ? r.json() : 0));
    await fetch(dapr, { method: 'POST', body: JSON.stringify([{ key, value: current + 1 }]) });
    res.end(`visits: ${current + 1}\n`);
  })
  .listen(Number(process.env.APP_PORT || 3000));
