// The API reference page's one script: Swagger UI (served by this app from its npm package,
// never a CDN) rendering the OpenAPI document beside it.
/* global SwaggerUIBundle */
window.addEventListener('load', () => {
  SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#reference',
    deepLinking: true,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
  });
});
