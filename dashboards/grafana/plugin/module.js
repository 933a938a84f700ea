// livepulse's Grafana datasource frontend, hand-written (no build step): an AMD module, the format
// Grafana loads plugin modules in, using the libraries Grafana shares with plugins. It registers
// the backend datasource (every query goes to the Go plugin, gpx_livepulse), a query editor (query
// type, stream, KOL and flag filters) and a configuration editor (URL and bearer token).
define(['react', '@grafana/data', '@grafana/runtime', '@grafana/ui'], function (React, grafanaData, grafanaRuntime, grafanaUI) {
  'use strict';

  var h = React.createElement;

  // The query types of dashboards/grafana/query.go, and the fields each one reads.
  var QUERY_TYPES = [
    { value: 'live', label: 'Live ticker', description: "Today's figures, pushed every second", fields: [] },
    { value: 'gmv_per_minute', label: 'GMV per minute', description: 'Platform, one stream or one KOL', fields: ['streamId', 'kolId'] },
    { value: 'stream_minutes', label: 'Stream minutes', description: 'Viewers measured vs displayed, orders, refunds', fields: ['streamId'] },
    { value: 'flags', label: 'Flags', description: 'Anomaly flags with evidence', fields: ['kind', 'state', 'streamId', 'kolId'] },
    { value: 'top_kols', label: 'Top KOLs', description: 'By GMV over the range', fields: [] },
    { value: 'top_streams', label: 'Top streams', description: 'By GMV over the range', fields: [] },
    { value: 'platform_split', label: 'Platform split', description: 'GMV per platform over the range', fields: [] }
  ];
  var FIELD_LABELS = { streamId: 'Stream', kolId: 'KOL', kind: 'Flag kind', state: 'Flag state' };
  var TEMPLATED = ['streamId', 'kolId', 'kind', 'state'];

  function queryTypeOf(value) {
    for (var i = 0; i < QUERY_TYPES.length; i++) {
      if (QUERY_TYPES[i].value === value) {
        return QUERY_TYPES[i];
      }
    }
    return null;
  }

  class LivepulseDataSource extends grafanaRuntime.DataSourceWithBackend {
    // Dashboard variables ($stream, $kol) are replaced here, in the browser: the backend sees
    // the query as sent.
    applyTemplateVariables(query, scopedVars) {
      var srv = grafanaRuntime.getTemplateSrv();
      var out = Object.assign({}, query);
      TEMPLATED.forEach(function (key) {
        if (typeof out[key] === 'string' && out[key] !== '') {
          out[key] = srv.replace(out[key], scopedVars);
        }
      });
      return out;
    }

    filterQuery(query) {
      return !query.hide && !!queryTypeOf(query.queryType);
    }

    getDefaultQuery() {
      return { queryType: 'live' };
    }
  }

  function QueryEditor(props) {
    var query = props.query;
    var type = queryTypeOf(query.queryType) || QUERY_TYPES[0];
    function set(key, value, run) {
      var next = Object.assign({}, query);
      next[key] = value;
      props.onChange(next);
      if (run) {
        props.onRunQuery();
      }
    }
    var children = [
      h(grafanaUI.InlineField, { key: 'queryType', label: 'Query', labelWidth: 12, tooltip: type.description },
        h(grafanaUI.Select, {
          width: 24,
          options: QUERY_TYPES.map(function (t) { return { value: t.value, label: t.label, description: t.description }; }),
          value: type.value,
          onChange: function (option) { set('queryType', option.value, true); }
        }))
    ];
    type.fields.forEach(function (key) {
      children.push(h(grafanaUI.InlineField, { key: key, label: FIELD_LABELS[key], labelWidth: 12 },
        h(grafanaUI.Input, {
          width: 24,
          value: query[key] || '',
          placeholder: key === 'kind' ? 'viewer_inflation' : key === 'state' ? 'open' : '$' + key.replace('Id', ''),
          onChange: function (e) { set(key, e.currentTarget.value, false); },
          onBlur: function () { props.onRunQuery(); }
        })));
    });
    return h(grafanaUI.InlineFieldRow, null, children);
  }

  function ConfigEditor(props) {
    var options = props.options;
    var secureFields = options.secureJsonFields || {};
    var secure = options.secureJsonData || {};
    function change(patch) {
      props.onOptionsChange(Object.assign({}, options, patch));
    }
    return h('div', null,
      h(grafanaUI.InlineField, { label: 'URL', labelWidth: 16, tooltip: "livepulse's HTTP API, e.g. http://livepulse:8080" },
        h(grafanaUI.Input, {
          width: 40,
          value: options.url || '',
          placeholder: 'http://livepulse:8080',
          onChange: function (e) { change({ url: e.currentTarget.value }); }
        })),
      h(grafanaUI.InlineField, { label: 'Bearer token', labelWidth: 16, tooltip: "livepulse's LIVEPULSE_TOKEN; stored encrypted, sent only by the backend" },
        h(grafanaUI.SecretInput, {
          width: 40,
          isConfigured: !!secureFields.token,
          value: secure.token || '',
          onChange: function (e) { change({ secureJsonData: Object.assign({}, secure, { token: e.currentTarget.value }) }); },
          onReset: function () {
            change({
              secureJsonFields: Object.assign({}, secureFields, { token: false }),
              secureJsonData: Object.assign({}, secure, { token: '' })
            });
          }
        })));
  }

  var plugin = new grafanaData.DataSourcePlugin(LivepulseDataSource)
    .setConfigEditor(ConfigEditor)
    .setQueryEditor(QueryEditor);

  return { plugin: plugin, QUERY_TYPES: QUERY_TYPES };
});
