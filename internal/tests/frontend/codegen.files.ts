// GraphQL Code Generator (client preset) from the schema files: every
// graph/*.graphqls. Writes gen-files/gql/, which must equal what the live
// server's introspection gives (src/gql/).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // ES modules: imports between the generated files end in .js.
  emitLegacyCommonJSImports: false,
  schema: '../../../graph/*.graphqls',
  documents: ['src/**/*.ts', '!src/gql/**'],
  generates: {
    './gen-files/gql/': {
      preset: 'client',
      config: { scalars: { JSON: 'Record<string, unknown>', Time: 'string', Upload: 'File' }, useTypeImports: true },
    },
  },
};
export default config;
