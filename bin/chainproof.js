#!/usr/bin/env node
// The CLI runs the compiled build (decorator metadata needs tsc): `npm run build` first.
// A production process unless told otherwise: graphql-js checks every instanceof in development.
process.env.NODE_ENV ??= 'production';
const { main } = await import('../dist/src/cli/main.js');

await main(process.argv);
