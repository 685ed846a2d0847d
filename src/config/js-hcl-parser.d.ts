declare module 'js-hcl-parser' {
  export function parse(hcl: string): string;
  export function stringify(json: string): string;
}
