// The part of @xmpp/client 0.14 that verify uses (the package ships no type declarations).
declare module "@xmpp/client" {
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    text(): string;
    toString(): string;
  }
  export function xml(
    name: string,
    attrs?: Record<string, string>,
    ...children: (Element | string)[]
  ): Element;
  export interface Client {
    /** @xmpp/connection's state: "connecting" until the websocket opens, then "connect", "open", "online", ... */
    status: string;
    /** The websocket wrapper while one is attached; end() closes it without waiting. */
    socket: { end(): void } | null;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    on(event: "error", listener: (error: Error & { name?: string; element?: Element }) => void): void;
    on(event: "stanza", listener: (stanza: Element) => void): void;
    reconnect: { stop(): void };
    iqCaller: { request(element: Element, timeoutMs?: number): Promise<Element> };
    /** Answers get/set queries with this child namespace and name; the returned element is the result. */
    iqCallee: {
      set(
        ns: string,
        name: string,
        handler: (ctx: { element: Element; stanza: Element }) => Promise<Element>,
      ): void;
    };
  }
  export function client(options: {
    service: string;
    domain: string;
    resource?: string;
    username?: string;
    password?: string;
    /** Picks the SASL mechanism itself among those the server offers, instead of the client's order. */
    credentials?: (
      authenticate: (credentials: { username: string; password: string }, mechanism: string) => Promise<void>,
      mechanisms: string[],
    ) => Promise<void>;
  }): Client;
}
