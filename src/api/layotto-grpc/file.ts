// The File rpcs of spec.proto.runtime.v1.Runtime over FileCore. GetFile streams the store's chunks
// out as they are read, waiting for 'drain' when the client is slower; PutFile hands the store a
// stream of the incoming chunks (store_name, name and metadata come from the first message, as in
// Layotto), so neither direction holds a whole file in memory.
import { once } from 'node:events';
import { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import type { FileCore, FileInput } from '../../core/file';
import { isRuntimeError, RuntimeError } from '../../errors/runtime-error';
import { toLayottoGrpc } from '../../errors/to-grpc';
import { answer } from '../grpc/handlers';
import { unary } from './handlers';
import type { StringMap } from './messages';

interface GetFileRequest {
  store_name: string;
  name: string;
  metadata: StringMap;
}
interface PutFileRequest extends GetFileRequest {
  data: Buffer;
}
type FileRequest = GetFileRequest;
interface ListFileRequest {
  request: FileRequest | null;
  page_size: number;
  marker: string;
}
interface FileRequestWrapper {
  request: FileRequest | null;
}

/** The nested FileRequest as core input; Layotto refuses a missing one before anything else. */
function fileInput(req: FileRequest | null): FileInput {
  if (!req) throw new RuntimeError('FILE_REQUEST_NIL');
  return { storeName: req.store_name, name: req.name, metadata: req.metadata };
}

async function sendFile(file: FileCore, call: grpc.ServerWritableStream<GetFileRequest, { data: Buffer }>): Promise<void> {
  const cancelled = new AbortController();
  call.once('cancelled', () => cancelled.abort());
  const req = call.request;
  try {
    const source = await file.get({ storeName: req.store_name, name: req.name, metadata: req.metadata });
    // Leaving the loop early (cancel, error) destroys the source, which closes the file.
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (call.cancelled) return;
      if (!call.write({ data: chunk })) await once(call, 'drain', { signal: cancelled.signal });
    }
  } catch (e) {
    if (!call.cancelled) call.emit('error', toLayottoGrpc(isRuntimeError(e) ? e : file.streamError(e)));
    return;
  }
  call.end();
}

/** How long the end of an upload waits for a cancel that may follow it before the file is saved. */
const CANCEL_GRACE_MS = 50;

function cancelledWithin(call: grpc.ServerReadableStream<PutFileRequest, unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      call.off('cancelled', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    call.once('cancelled', done);
  });
}

/** The data of the first message and of every later one, in order; a cancelled upload ends in an error. */
async function* chunks(first: Buffer, rest: AsyncIterator<PutFileRequest>, call: grpc.ServerReadableStream<PutFileRequest, unknown>): AsyncGenerator<Buffer> {
  if (first.length) yield first;
  for (let m = await rest.next(); !m.done; m = await rest.next()) if (m.value.data.length) yield m.value.data;
  // A grpc-js client that cancels half-closes first and resets a few ms later: the end of the
  // messages alone does not tell a finished upload from a cancelled one. Wait a moment for the reset.
  if (!call.cancelled) await cancelledWithin(call, CANCEL_GRACE_MS);
  if (call.cancelled) throw new Error('the upload was cancelled');
}

async function receiveFile(file: FileCore, call: grpc.ServerReadableStream<PutFileRequest, unknown>): Promise<void> {
  const messages = (call as AsyncIterable<PutFileRequest>)[Symbol.asyncIterator]();
  const first = await messages.next();
  // A client that closes without sending anything gets OK, as from Layotto.
  if (first.done) return;
  const { store_name, name, metadata, data } = first.value;
  const cancelled = new AbortController();
  call.once('cancelled', () => cancelled.abort(new Error('the upload was cancelled')));
  await file.put({ storeName: store_name, name, metadata, data: Readable.from(chunks(data, messages, call)), signal: cancelled.signal });
}

export function fileHandlers(file: FileCore): grpc.UntypedServiceImplementation {
  return {
    GetFile: (call: grpc.ServerWritableStream<GetFileRequest, { data: Buffer }>) => {
      void sendFile(file, call);
    },
    PutFile: (call: grpc.ServerReadableStream<PutFileRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      receiveFile(file, call).then(
        () => answer(callback, null, {}),
        (e: unknown) => answer(callback, toLayottoGrpc(e)),
      );
    },
    ListFile: unary(async (req: ListFileRequest) => {
      const page = await file.list({ ...fileInput(req.request), marker: req.marker, pageSize: req.page_size });
      return {
        files: page.files.map((f) => ({ file_name: f.name, size: f.size, last_modified: f.lastModified, metadata: f.metadata })),
        marker: page.marker,
        is_truncated: page.isTruncated,
      };
    }),
    DelFile: unary(async (req: FileRequestWrapper) => {
      await file.del(fileInput(req.request));
      return {};
    }),
    GetFileMeta: unary(async (req: FileRequestWrapper) => {
      const st = await file.stat(fileInput(req.request));
      const metadata = Object.fromEntries(Object.entries(st.metadata).map(([k, value]) => [k, { value }]));
      return { size: st.size, last_modified: st.lastModified, response: { metadata } };
    }),
  };
}
