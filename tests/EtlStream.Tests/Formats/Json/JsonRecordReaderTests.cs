using System.Text;
using EtlStream.Formats;
using EtlStream.Formats.Json;
using EtlStream.Tables;

namespace EtlStream.Tests.Formats.Json;

/// <summary>The JSON reader on its own: records in each form, fields by path, the sampled header, errors with file, line and byte.</summary>
public sealed class JsonRecordReaderTests
{
    private static TableSpec Spec(string yaml) => TableSpecReader.Read(yaml, "t.yaml");

    private static TableSpec NoColumns(string extra = "") => Spec("table: t\n" + extra);

    /// <summary>The header and every row's fields as text (null for NULL), with each row's line.</summary>
    private static async Task<(IReadOnlyList<string> Header, List<(long Line, string?[] Fields)> Rows, JsonRecordReader Reader)> ReadAsync(string text, TableSpec spec, string source = "e.jsonl")
    {
        var reader = new JsonRecordReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), source, spec);
        var header = await reader.ReadHeaderAsync(default);
        var rows = new List<(long, string?[])>();
        while (await reader.ReadBatchAsync(default) is { } batch)
        {
            using (batch)
            {
                for (var r = 0; r < batch.RowCount; r++)
                {
                    var fields = new string?[batch.ColumnCount];
                    for (var c = 0; c < fields.Length; c++)
                    {
                        var data = batch.Data(c);
                        fields[c] = data.IsNull(r) ? null : Encoding.UTF8.GetString(data.Value(r));
                    }

                    rows.Add((batch.LineOf(r), fields));
                }
            }
        }

        return (header, rows, reader);
    }

    [Fact]
    public void Json_is_recognised_by_its_first_non_blank_byte()
    {
        Assert.Same(JsonFormat.Instance, InputFormats.Recognize("{\"a\":1}\n"u8));
        Assert.Same(JsonFormat.Instance, InputFormats.Recognize("\uFEFF \r\n [ {\"a\":1} ]"u8));
        Assert.NotSame(JsonFormat.Instance, InputFormats.Recognize("a,b\n{1},2\n"u8));
        Assert.Same(JsonFormat.Instance, InputFormats.Find("JSON"));
    }

    [Fact]
    public async Task Fields_are_read_by_path_as_their_text()
    {
        var spec = Spec("""
            table: t
            columns:
              - { name: code, type: string, source: dealer.code }
              - { name: lon, type: string, source: "geometry.coordinates[0]" }
              - { name: dotted, type: string, source: "props['a.b']" }
              - { name: n, type: string }
              - { name: ok, type: string }
              - { name: tags, type: string }
              - { name: dealer, type: string }
              - { name: s, type: string }
            """);
        var text = "{\"dealer\":{\"code\":\"D1\",\"x\":[1,{\"y\":2}]},\"geometry\":{\"coordinates\":[-24.390,14.81]},\"props\":{\"a.b\":\"dot\",\"a\":{\"b\":\"nested\"}},"
            + "\"n\":12345678901234567890.120,\"ok\":true,\"tags\":[\"promo\", \"x\"],\"s\":\"tab\\there \\\"q\\\" \\u00e9\\ud83d\\ude00\"}\n"
            + "{\"n\":null,\"ok\":false,\"dealer\":null}\r\n";
        var (header, rows, _) = await ReadAsync(text, spec);

        Assert.Equal(["dealer.code", "geometry.coordinates[0]", "props['a.b']", "n", "ok", "tags", "dealer", "s"], header.Take(8));
        Assert.Equal(
            ["D1", "-24.390", "dot", "12345678901234567890.120", "true", "[\"promo\", \"x\"]", "{\"code\":\"D1\",\"x\":[1,{\"y\":2}]}", "tab\there \"q\" é😀"],
            rows[0].Fields.Take(8));
        Assert.Equal([null, null, null, null, "false", null, null, null], rows[1].Fields.Take(8));
        Assert.Equal([1L, 2L], rows.Select(r => r.Line));
    }

    [Fact]
    public async Task Without_columns_the_sample_gives_flattened_keys_in_first_seen_order()
    {
        var text = "{\"id\":1,\"dealer\":{\"code\":\"D1\",\"geo\":{\"lat\":1.5}},\"tags\":[1,2]}\n"
            + "\n"
            + "{\"id\":2,\"extra\":\"x\",\"dealer\":{\"name\":\"N\"},\"empty\":{}}\n"
            + "{\"id\":3,\"dealer\":null,\"tags\":null}\n";
        var (header, rows, _) = await ReadAsync(text, NoColumns());

        Assert.Equal(["id", "dealer__code", "dealer__geo__lat", "tags", "extra", "dealer__name"], header);
        Assert.Equal([1L, 3L, 4L], rows.Select(r => r.Line));
        Assert.Equal(new string?[] { "1", "D1", "1.5", "[1,2]", null, null }, rows[0].Fields);
        Assert.Equal(new string?[] { "2", null, null, null, "x", "N" }, rows[1].Fields);
        Assert.Equal(new string?[] { "3", null, null, null, null, null }, rows[2].Fields);
    }

    [Fact]
    public async Task Flattened_names_read_the_nested_keys_they_name_and_an_exact_key_wins()
    {
        // The columns an earlier file's sample named (dealer__code) read this file by path.
        var spec = Spec("""
            table: t
            columns:
              - { name: dealer__code, type: string }
              - { name: a__b, type: string }
            """);
        var (_, rows, _) = await ReadAsync("{\"dealer\":{\"code\":\"D7\"},\"a\":{\"b\":\"nested\"},\"a__b\":\"exact\"}\n", spec);
        Assert.Equal(new string?[] { "D7", "exact" }, rows[0].Fields);
    }

    [Fact]
    public async Task A_top_level_array_is_streamed_element_by_element_across_buffer_refills()
    {
        var text = new StringBuilder("[\n");
        for (var i = 0; i < 40_000; i++)
        {
            text.Append(i == 0 ? "  " : ", ").Append("{\"i\":").Append(i).Append(",\"pad\":\"").Append('x', i % 97).Append("\"}\n");
        }

        text.Append("]\n");
        var (header, rows, reader) = await ReadAsync(text.ToString(), NoColumns(), "a.json");

        Assert.Equal(["i", "pad"], header);
        Assert.Equal(40_000, rows.Count);
        Assert.Equal(("39999", new string('x', 39_999 % 97)), (rows[^1].Fields[0], rows[^1].Fields[1]));
        Assert.Equal(40_001L, rows[^1].Line);
        Assert.Equal(Encoding.UTF8.GetByteCount(text.ToString()), reader.BytesConsumed);
    }

    [Fact]
    public async Task Records_under_a_path_are_read_from_one_document()
    {
        var spec = Spec("""
            table: t
            json: { records: data.items }
            columns:
              - { name: id, type: string }
            """);
        var text = "{\"meta\":{\"skip\":[1,2,{\"id\":\"no\"}]},\"data\":{\"count\":2,\"items\":[{\"id\":\"a\"},{\"id\":\"b\"}],\"after\":true},\"tail\":1}";
        var (_, rows, _) = await ReadAsync(text, spec, "dump.json");
        Assert.Equal(["a", "b"], rows.Select(r => r.Fields[0]));
    }

    [Fact]
    public async Task A_records_path_that_is_not_there_is_an_error_naming_it()
    {
        var spec = Spec("table: t\njson: { records: features }\n");
        var e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("{\"type\":\"FeatureCollection\",\"items\":[]}", spec, "map.geojson"));
        Assert.Equal("map.geojson:1: json.records: the document has no key 'features'", e.Message);
    }

    [Fact]
    public async Task Malformed_json_names_file_line_and_byte()
    {
        var spec = Spec("table: t\non_error: fail_file\ncolumns:\n  - { name: a, type: string }\n");
        var e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("{\"a\":1}\n{\"a\":2}\n{\"a\":3 \"b\":4}\n", spec, "events.jsonl"));
        Assert.Equal("events.jsonl:3: invalid JSON at byte 8: expected ',' or '}'", e.Message);

        e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("{\"a\":[1 2]}\n", spec, "events.jsonl"));
        Assert.Equal("events.jsonl:1: invalid JSON at byte 9: expected ',' or ']'", e.Message);

        e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("{\"a\":1,\n\"b\":2}\n", spec, "pretty.json"));
        Assert.StartsWith("pretty.json:1: invalid JSON at byte 7: the line ends before the record does (JSON Lines hold one record per line", e.Message);
    }

    [Fact]
    public async Task Malformed_json_in_a_document_fails_the_file_naming_line_and_byte()
    {
        var spec = Spec("table: t\ncolumns:\n  - { name: a, type: string }\n");
        var e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("[\n{\"a\":1},\n{\"a\" 2}\n]", spec, "list.json"));
        Assert.Equal("list.json:3: invalid JSON at byte 6: expected ':' after a key", e.Message);

        e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("[{\"a\":1},{\"a\":2}", spec, "cut.json"));
        Assert.Equal("cut.json:1: invalid JSON at byte 17: the document ends before it is closed", e.Message);
    }

    [Fact]
    public async Task Content_that_is_no_json_record_says_what_was_expected()
    {
        var e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync("\n  x,y\n", NoColumns("format: json\n"), "day.csv"));
        Assert.Equal("day.csv:2: invalid JSON at byte 3: expected '{' (JSON Lines) or '[' (an array of records), found 'x'", e.Message);
    }

    [Fact]
    public async Task A_record_over_max_record_bytes_fails_under_fail_file()
    {
        var spec = Spec("table: t\non_error: fail_file\njson: { max_record_bytes: 2KiB }\ncolumns:\n  - { name: a, type: string }\n");
        var text = "{\"a\":1}\n{\"a\":\"" + new string('x', 3000) + "\"}\n{\"a\":3}\n";
        var e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync(text, spec, "big.jsonl"));
        Assert.Equal("big.jsonl:2: record is longer than json.max_record_bytes (2,048 bytes)", e.Message);
    }

    [Fact]
    public async Task A_key_first_seen_after_the_sample_is_warned_once_or_fails_under_strict()
    {
        var text = "{\"a\":1}\n{\"a\":2}\n{\"a\":3,\"late\":{\"k\":1}}\n{\"a\":4,\"late\":{\"k\":2}}\n";
        var (_, rows, reader) = await ReadAsync(text, Spec("table: t\njson: { sample_rows: 2 }\ncolumns:\n  - { name: a, type: string }\n"));
        Assert.Equal(4, rows.Count);
        Assert.Equal(["key 'late' first appears on line 3, after the 2 records sampled: not loaded (schema_drift: ignore_new)"], reader.EntryWarnings);

        var e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync(text, Spec("table: t\nschema_drift: strict\njson: { sample_rows: 2 }\ncolumns:\n  - { name: a, type: string }\n"), "ev.jsonl"));
        Assert.Equal("ev.jsonl:3: key 'late' is not read by any column (schema_drift: strict); it first appears here, after the 2 records sampled", e.Message);

        e = await Assert.ThrowsAsync<JsonFormatException>(() => ReadAsync(text, Spec("table: t\nschema_drift: strict\ncolumns:\n  - { name: a, type: string }\n"), "ev.jsonl"));
        Assert.Equal("ev.jsonl:3: key 'late.k' is not read by any column (schema_drift: strict)", e.Message);
    }

    [Fact]
    public void Json_settings_are_checked_with_their_paths()
    {
        var e = Assert.Throws<ConfigException>(() => Spec("table: t\njson: { records: \"a[0]\", max_record_bytes: 10, sample_rows: 0, depth: 3 }\n"));
        Assert.Contains("t.yaml: json.records: 'a[0]' holds an array index: records are found under object keys (features, data.items)", e.Errors);
        Assert.Contains("t.yaml: json.max_record_bytes: must be 1 KiB to 1 GiB, got 10", e.Errors);
        Assert.Contains("t.yaml: json.sample_rows: must be 1 or more, got 0", e.Errors);
        Assert.Contains(e.Errors, x => x.StartsWith("t.yaml: json.depth: unknown key", StringComparison.Ordinal));

        var bad = Spec("table: t\ncolumns:\n  - { name: x, type: string, source: \"a[b\" }\n");
        var open = Assert.Throws<ConfigException>(() => new JsonRecordReader(new MemoryStream(), "x.jsonl", bad));
        Assert.Equal(["t.yaml: columns[0].source: invalid JSON path 'a[b': expected an array index ([0]) or a quoted key (['a.b']) at character 2"], open.Errors);
    }
}
