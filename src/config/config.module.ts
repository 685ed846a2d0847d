/**
 * The server configuration as providers: the `ServerConfig` the fail-fast loader built (the only
 * validation), the logger, and the kernel's part of the configuration. Global: every module may
 * inject them without importing this one.
 */
import { Module, type DynamicModule } from '@nestjs/common';
import { typedToken } from '../framework/typed-token';
import { KERNEL_SETTINGS, type KernelSettings } from '../kernel/kernel.module';
import { LOGGER, type Logger } from '../logger';
import { pkcs11BindingUnavailable } from '../hsm/pkcs11-binding';
import { ConfigError, type ServerConfig } from './config';

export const SERVER_CONFIG = typedToken<ServerConfig>('ServerConfig');

@Module({})
export class ConfigModule {
  static forRoot(config: ServerConfig, log: Logger): DynamicModule {
    if (config.seal.active.type === 'pkcs11' || config.seal.disabled) {
      const missing = pkcs11BindingUnavailable();
      if (missing) throw new ConfigError(`seal "pkcs11": ${missing}`);
    }
    if (config.kmsLibraries.length > 0) {
      const missing = pkcs11BindingUnavailable();
      if (missing) throw new ConfigError(`kms_library "pkcs11": ${missing}`);
    }
    const kernel: KernelSettings = {
      maxEncryptionsPerTerm: config.maxEncryptionsPerTerm,
      clusterName: config.clusterName,
      seal: config.seal,
      kmsLibraries: config.kmsLibraries,
      ha: config.ha,
    };
    return {
      module: ConfigModule,
      global: true,
      providers: [
        { provide: SERVER_CONFIG, useValue: config },
        { provide: LOGGER, useValue: log },
        { provide: KERNEL_SETTINGS, useValue: kernel },
      ],
      exports: [SERVER_CONFIG, LOGGER, KERNEL_SETTINGS],
    };
  }
}
