// Promise.withResolvers is in Node 22 but not Node 20. js-libp2p 2.x (and
// 3.x) call it on the first dial and crash with "Promise.withResolvers is not
// a function" without it. Import this module before anything from libp2p.
if (typeof Promise.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve, reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
