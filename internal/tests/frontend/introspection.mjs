// Prints the standard introspection query of the pinned graphql-js, as
// GraphiQL, GraphQL Code Generator and other tools send it. With "all", every
// option turned on (descriptions of the schema, specifiedByURL, repeatable
// directives, deprecated input values).
import { getIntrospectionQuery } from 'graphql';

const all = process.argv[2] === 'all';
process.stdout.write(getIntrospectionQuery(all ? {
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
} : undefined));
