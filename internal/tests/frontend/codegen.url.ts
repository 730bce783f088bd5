// GraphQL Code Generator (client preset) from the live server, as the
// README shows: PROFILED_URL is the /graphql endpoint. Writes src/gql/.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // ES modules: imports between the generated files end in .js.
  emitLegacyCommonJSImports: false,
  schema: process.env.PROFILED_URL ?? 'http://127.0.0.1:8080/graphql',
  documents: ['src/**/*.ts', '!src/gql/**'],
  generates: {
    './src/gql/': {
      preset: 'client',
      config: { scalars: { JSON: 'Record<string, unknown>', Time: 'string', Upload: 'File' }, useTypeImports: true },
    },
  },
};
export default config;
