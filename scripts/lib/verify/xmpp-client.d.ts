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
  }): Client;
}
