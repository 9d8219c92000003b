using System.IO.Compression;
using System.Text;
using EtlStream.Formats.Json;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;
using EtlStream.Transforms;

namespace EtlStream.Tests.Formats.Json;

/// <summary>JSON through the whole load: casts from JSON text, rejects with the raw line, the rest of the file loading, schema drift.</summary>
public sealed class JsonLoadTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<LoadResult> LoadAsync(string input, string output, TableSpec? spec, string? rejects = null, ListLogger? logger = null)
    {
        var pipeline = new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 12, 6), RejectsPath = rejects }, logger);
        await using var sink = SinkTarget.Create($"parquet:{output}", spec?.Name ?? "t");
        return await pipeline.RunAsync(LocalFileSource.List(input), spec, sink, default);
    }

    private static TableSpec Spec(string yaml) => TableSpecReader.Read(yaml, "t.yaml");

    private const string TypedSpec = """
        table: events
        columns:
          - { name: id, type: int64, nullable: false }
          - { name: amount, type: "decimal(38,10)" }
          - { name: ok, type: bool }
          - { name: day, type: date }
          - { name: at, type: timestamp }
          - { name: who, type: string, source: user.name }

        """;

    [Fact]
    public async Task Json_values_cast_exactly_numbers_from_their_text_and_a_gzipped_file_is_recognised()
    {
        var input = _dir.File("events_2026-12-06.jsonl.gz");
        await using (var gz = new GZipStream(File.Create(input), CompressionLevel.Fastest))
        {
            await gz.WriteAsync(Encoding.UTF8.GetBytes(
                "{\"id\":1,\"amount\":1234567890123456789012345678.0123456789,\"ok\":true,\"day\":\"2026-12-06\",\"at\":\"2026-12-06 07:08:09\",\"user\":{\"name\":\" Ann \"}}\n"
                + "{\"id\":2,\"amount\":-0.1,\"ok\":false,\"day\":null,\"user\":null}\n"));
        }

        var output = _dir.File("out.parquet");
        var result = await LoadAsync(input, output, Spec(TypedSpec));

        Assert.Equal((2L, 2L, 0L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var rows = DuckDbQuery.Rows($"SELECT id, amount::VARCHAR, ok, day::VARCHAR, \"at\"::VARCHAR, who FROM read_parquet({DuckDbQuery.Literal(output)}) ORDER BY id");
        Assert.Equal([1L, "1234567890123456789012345678.0123456789", true, "2026-12-06", "2026-12-06 07:08:09", " Ann "], rows[0]);
        Assert.Equal([2L, "-0.1000000000", false, null, null, null], rows[1]);
    }

    [Fact]
    public async Task A_malformed_line_goes_to_the_rejects_with_its_raw_text_and_the_rest_of_the_file_loads()
    {
        var input = _dir.File("events.jsonl");
        var lines = new List<string>();
        for (var i = 1; i <= 1206; i++)
        {
            lines.Add($"{{\"id\":{i},\"ok\":true}}");
        }

        var bad = "{\"id\":1207,\"amount\":2.5,\"user\":{\"name\":\"x\"} \"ok\":true, \"day\":\"2026-12-06\"}";
        lines.Add(bad);
        lines.Add("{\"id\":1208,\"ok\":\"maybe\"}");
        lines.Add("{\"id\":1209,\"ok\":false}");
        await File.WriteAllTextAsync(input, string.Join('\n', lines) + "\n");
        var rejects = _dir.File("rejects.parquet");

        var result = await LoadAsync(input, _dir.File("out.parquet"), Spec(TypedSpec + "max_reject_ratio: 0.01\n"), rejects);

        Assert.Equal((1209L, 1207L, 2L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var rows = DuckDbQuery.Rows($"SELECT source_file, line, \"column\", rule, value, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(rejects)}) ORDER BY line");
        Assert.Equal([input, 1207L, "", "format", "", "invalid JSON at byte 45: expected ',' or '}'", bad], rows[0]);
        // A row rejected for a value keeps its fields as its raw row, as a CSV row does (the paths read, in order).
        Assert.Equal([input, 1208L, "ok", "conversion", "maybe", "expected one of true, t, 1, y, yes, false, f, 0, n, no", "1208,,maybe,,,"], rows[1]);
    }

    [Fact]
    public async Task Under_fail_file_malformed_json_and_a_wrong_type_fail_the_run_naming_file_line_and_byte_or_column()
    {
        var input = _dir.File("events.jsonl");
        await File.WriteAllTextAsync(input, "{\"id\":1}\n{\"id\":2,\"ok\":tru}\n");
        var e = await Assert.ThrowsAsync<JsonFormatException>(() => LoadAsync(input, _dir.File("a.parquet"), Spec(TypedSpec + "on_error: fail_file\n")));
        Assert.Equal($"{input}:2: invalid JSON at byte 17: expected true, false or null", e.Message);

        await File.WriteAllTextAsync(input, "{\"id\":1}\n{\"id\":2.5}\n");
        var c = await Assert.ThrowsAsync<DataConversionException>(() => LoadAsync(input, _dir.File("b.parquet"), Spec(TypedSpec + "on_error: fail_file\n")));
        Assert.Equal($"{input}:2:1: column 'id': cannot convert '2.5' to int64: not an integer", c.Message);
        Assert.False(File.Exists(_dir.File("b.parquet")));
    }

    [Fact]
    public async Task A_line_over_max_record_bytes_is_rejected_without_being_held_and_the_rest_loads()
    {
        var input = _dir.File("big.jsonl");
        var huge = "{\"id\":2,\"who\":\"" + new string('x', 5000) + "\"}";
        await File.WriteAllTextAsync(input, "{\"id\":1}\n" + huge + "\n{\"id\":3}\n");
        var rejects = _dir.File("rejects.parquet");
        var spec = Spec("table: t\nmax_reject_ratio: 0.5\njson: { max_record_bytes: 2KiB }\ncolumns:\n  - { name: id, type: int64 }\n");

        var result = await LoadAsync(input, _dir.File("out.parquet"), spec, rejects);

        Assert.Equal((3L, 2L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var row = DuckDbQuery.Rows($"SELECT line, rule, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(rejects)})").Single();
        Assert.Equal([2L, "format", "record is longer than json.max_record_bytes (2,048 bytes)", huge[..1024] + "…"], row);
    }

    [Fact]
    public async Task Without_a_spec_columns_come_from_the_sample_and_new_keys_in_a_later_file_are_warned_about()
    {
        var day1 = _dir.File("in/day1.jsonl");
        Directory.CreateDirectory(_dir.File("in"));
        await File.WriteAllTextAsync(day1, "{\"id\":1,\"dealer\":{\"code\":\"D1\"},\"tags\":[\"a\"]}\n{\"id\":2,\"dealer\":{\"code\":\"D2\",\"name\":\"N\"}}\n");
        var day2 = _dir.File("in/day2.jsonl");
        await File.WriteAllTextAsync(day2, "{\"id\":3,\"dealer\":{\"code\":\"D3\",\"rating\":5}}\n");
        var output = _dir.File("out.parquet");
        var logger = new ListLogger();

        var result = await LoadAsync(_dir.File("in"), output, null, logger: logger);

        Assert.Equal(3L, result.RowsLoaded);
        Assert.Equal(
            [("id", "VARCHAR"), ("dealer__code", "VARCHAR"), ("tags", "VARCHAR"), ("dealer__name", "VARCHAR")],
            DuckDbQuery.Describe(null, $"read_parquet({DuckDbQuery.Literal(output)})"));
        Assert.Equal(
            [["1", "D1", "[\"a\"]", null], ["2", "D2", null, "N"], ["3", "D3", null, null]],
            DuckDbQuery.Rows($"SELECT * FROM read_parquet({DuckDbQuery.Literal(output)}) ORDER BY id"));
        Assert.Contains($"{day2}: the header differs from the spec, loaded by column name: new columns dealer__rating", logger.Messages);
    }

    [Fact]
    public async Task Schema_drift_evolve_adds_the_new_keys_of_every_files_sample_as_columns()
    {
        Directory.CreateDirectory(_dir.File("in"));
        await File.WriteAllTextAsync(_dir.File("in/a.jsonl"), "{\"id\":1}\n");
        await File.WriteAllTextAsync(_dir.File("in/b.jsonl"), "{\"id\":2,\"dealer\":{\"rating\":5}}\n");
        var output = _dir.File("out.parquet");
        var spec = Spec("table: t\nschema_drift: evolve\ncolumns:\n  - { name: id, type: int64 }\n");

        var result = await LoadAsync(_dir.File("in"), output, spec);

        Assert.Equal(2L, result.RowsLoaded);
        Assert.Equal(
            [[1L, null], [2L, "5"]],
            DuckDbQuery.Rows($"SELECT id, dealer__rating FROM read_parquet({DuckDbQuery.Literal(output)}) ORDER BY id"));
    }
}
