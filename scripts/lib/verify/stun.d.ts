// The part of @msimerson/stun 3.2 that verify's TURN client uses (the package ships no type declarations).
declare module "@msimerson/stun" {
  export interface StunAttribute {
    type: number;
    value: unknown;
  }
  export interface StunMessage {
    readonly type: number;
    readonly transactionId: Buffer;
    getAttribute(type: number): StunAttribute | undefined;
  }
  export interface StunRequest extends StunMessage {
    addAttribute(type: number, ...values: unknown[]): StunAttribute | undefined;
    addMessageIntegrity(key: string | Buffer): boolean;
    addFingerprint(): boolean;
    toBuffer(): Buffer;
  }
  export interface StunResponse extends StunMessage {
    getError(): { code: number; reason: string } | undefined;
    getRealm(): string | undefined;
    getNonce(): string | undefined;
  }
  export function createMessage(type: number, transaction?: Buffer): StunRequest;
  export function decode(message: Buffer): StunResponse;
  export function validateMessageIntegrity(message: StunMessage, key: string | Buffer): boolean;
  export const constants: Record<string, number>;
}
