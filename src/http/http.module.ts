/** The HTTP face of the server: the one Vault API controller, over the application's request pipeline. */
import { Module } from '@nestjs/common';
import { ApplicationModule } from '../application/application.module';
import { VaultApiController } from './vault-api.controller';

@Module({ imports: [ApplicationModule], controllers: [VaultApiController] })
export class HttpModule {}
