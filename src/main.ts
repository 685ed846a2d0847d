/** Process entry: the `secrethub` CLI (`server`, `operator`, `status`, `migrate`, ...). */
import 'reflect-metadata';
import { runCli } from './cli/program';

void runCli(process.argv.slice(2));
