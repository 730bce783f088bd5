// The GraphQL playground: GraphiQL served by Profiled itself (no CDN), with
// the schema's docs and autocomplete from introspection and a headers
// editor for the bearer token. Headers are not saved in the browser, so a
// token does not outlive the tab.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var fetcher = GraphiQL.createFetcher({ url: new URL(root.dataset.endpoint, location.href).toString() });
  var defaultQuery = [
    '# Profiled GraphQL playground.',
    '# Docs: the book icon on the left. Autocomplete: Ctrl+Space.',
    '# Add your token in Headers below: { "Authorization": "Bearer <token>" }',
    '{',
    '  users(first: 5) {',
    '    totalCount',
    '    edges { node { id email name } }',
    '  }',
    '}',
    '',
  ].join('\n');
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: defaultQuery,
    defaultHeaders: '{}',
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: 'headers',
  }));
})();
