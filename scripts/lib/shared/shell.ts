import { quote } from "shell-quote";

/**
 * The one way this project puts values into a shell command line (for SSH `exec`, which takes a
 * string): every word is quoted by shell-quote, never by hand.
 */
export function shellCommand(...words: string[]): string {
  return quote(words);
}
