/** A dependency-injection token (a symbol) that says what it provides, so injected values are typed. */
export type TypedToken<T> = symbol & { readonly provides?: T };

export function typedToken<T>(description: string): TypedToken<T> {
  return Symbol(description) as TypedToken<T>;
}

/** What a token provides: a class's instances, or a TypedToken's type. */
export type Provided<K> = K extends abstract new (...args: never[]) => infer I ? I : K extends TypedToken<infer P> ? P : never;
