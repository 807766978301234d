/**
 * undici, loaded on the first request, and only the parts the client uses: an Agent (a connection pool per
 * origin) and its request API. undici's entry point also loads fetch, WebSocket, caches, mocks and interceptors:
 * about three times the load time (~120 ms against ~40 ms on the bench machine), which every `mote pull` paid
 * before its first request. The two modules are undici's own (undici has no exports map); the tests exercise
 * them against real registries, so a version of undici that moved them fails there first.
 */
import type { Agent, Dispatcher, Pool } from 'undici';

export interface Http {
  Agent: new (options: Agent.Options) => Agent;
  /** What an Agent makes per origin (the Agent loads it itself: no extra cost). */
  Pool: new (origin: string | URL, options: Pool.Options) => Pool;
  /** `dispatcher.request(options)`, as undici's entry point installs it on every dispatcher. */
  request(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
}

type RequestApi = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

let loaded: Promise<Http> | undefined;

export function loadHttp(): Promise<Http> {
  loaded ??= Promise.all([
    import('undici/lib/dispatcher/agent.js'),
    import('undici/lib/dispatcher/pool.js'),
    import('undici/lib/api/api-request.js'),
  ]).then(([agent, pool, api]) => {
    const request = api.default as RequestApi;
    return { Agent: agent.default as Http['Agent'], Pool: pool.default as Http['Pool'], request: (d, o) => request.call(d, o) };
  });
  return loaded;
}
