#!/usr/bin/env node
'use strict';
// The `secrethub` command: the compiled CLI entry point.
require('../dist/src/main.js');
