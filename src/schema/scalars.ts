export { JSONResolver as JSONScalar, SafeIntResolver as SafeInt } from 'graphql-scalars';
