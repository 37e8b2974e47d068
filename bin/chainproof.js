#!/usr/bin/env node
// The CLI runs the compiled build (decorator metadata needs tsc): `npm run build` first.
import { main } from '../dist/src/cli/main.js';

await main(process.argv);
