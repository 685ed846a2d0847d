/** A setting that is missing, malformed or unusable; the message names the setting and never carries secret material. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
