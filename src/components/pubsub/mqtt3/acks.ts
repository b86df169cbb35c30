// PUBACK only once the handler resolved. MQTT 3.1.1 has no manual-ack API in mqtt.js: it sends the
// PUBACK when its handleMessage hook calls back, and holding that callback would stall every later
// packet of the connection (pings included). So the hook calls back with a marker error, which
// makes mqtt.js skip the PUBACK and read on, and the PUBACK is sent here later.
//
// An ack only goes out on the connection the message came on: after a reconnect a resumed session
// makes the broker resend every unacknowledged message with the same packet id, and that copy is
// the one acknowledged (a copy whose handler already succeeded is acked at once, one still being
// handled is not handed over twice). A session that was not resumed drops all of that state.
// QoS 0 needs no ack; QoS 2 completes its handshake in mqtt.js (PUBREC is sent on receipt, after
// which the broker never resends the PUBLISH), so only in-process retries cover its failures.
import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';

/** What the receiver does with a message once its handler is done with it. */
export interface Settle {
  /** Acknowledge (PUBACK) now, or when the broker resends it after a reconnect. */
  ack(): void;
  /** Leave it unacknowledged: the broker resends it when the session resumes. */
  abandon(): void;
}

export type Deliver = (packet: IPublishPacket, settle: Settle) => void;

interface Pending {
  connection: number;
  handled: boolean;
}

/** The one mqtt.js internal used: its packet writer (stores the packet while offline, hence the checks). */
type PacketWriter = { _sendPacket(packet: { cmd: 'puback'; messageId: number }): void };

const SKIP_PUBACK = new Error('mqtt3: acknowledged once handled');
const NO_ACK: Settle = { ack: () => undefined, abandon: () => undefined };

/** Installs the hook on a fresh client (before its first packet) and hands each message to deliver. */
export function deferAcks(client: MqttClient, deliver: Deliver): void {
  const pending = new Map<number, Pending>();
  let connection = 0;

  client.on('connect', (connack: IConnackPacket) => {
    connection++;
    if (!connack.sessionPresent) pending.clear();
  });

  const sendPuback = (messageId: number) => (client as unknown as PacketWriter)._sendPacket({ cmd: 'puback', messageId });

  client.handleMessage = (packet, callback) => {
    const id = packet.messageId;
    if (packet.qos !== 1 || id === undefined) {
      callback();
      deliver(packet, NO_ACK);
      return;
    }
    callback(SKIP_PUBACK);
    const known = pending.get(id);
    if (known) {
      // A resend after a reconnect: ack it if already handled, else let the running handler ack it.
      known.connection = connection;
      if (known.handled) {
        pending.delete(id);
        sendPuback(id);
      }
      return;
    }
    const entry: Pending = { connection, handled: false };
    pending.set(id, entry);
    deliver(packet, {
      ack: () => {
        if (pending.get(id) !== entry) return;
        if (entry.connection === connection && client.connected) {
          pending.delete(id);
          sendPuback(id);
        } else entry.handled = true;
      },
      abandon: () => {
        if (pending.get(id) === entry) pending.delete(id);
      },
    });
  };
}
