/**
 * `iterator`, with `onEnd` run once when it ends however it ends: graphql-ws calls `return()` when
 * the client completes the operation or its socket closes, but a stream that ends by itself (a
 * failure yielded last) is only read to its end (`done`), with no `return()`.
 */
export function untilEnd<T>(iterator: AsyncIterableIterator<T>, onEnd: () => void): AsyncIterableIterator<T> {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  const tracked: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]() {
      return tracked;
    },
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) end();
        return result;
      } catch (err) {
        end();
        throw err;
      }
    },
    async return(value?: unknown) {
      end();
      return iterator.return ? iterator.return(value) : { done: true, value: undefined };
    },
  };
  if (iterator.throw) {
    const own = iterator.throw.bind(iterator);
    tracked.throw = async (err?: unknown) => {
      end();
      return own(err);
    };
  }
  return tracked;
}
