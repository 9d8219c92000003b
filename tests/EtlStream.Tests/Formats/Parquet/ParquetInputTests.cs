using EtlStream.Formats;
using EtlStream.Formats.Parquet;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats.Parquet;

/// <summary>Parquet as an input (issue 16): typed columns cast by the documented rules, every value checked by DuckDB reading the output.</summary>
public sealed class ParquetInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Six rows of every kind of column, written by DuckDB (not by us): NULLs in each, negatives, extremes.</summary>
    internal static string WriteTypedParquet(string path, int rowGroupSize = 122_880)
    {
        DuckDbQuery.Rows($"""
            COPY (SELECT * FROM (VALUES
              (1, 1.5::FLOAT, 12.345::DECIMAL(10,3), DATE '2024-02-29', TIMESTAMP '2024-02-29 13:45:06.789012', TIMESTAMP_MS '2024-02-29 23:59:59.999', TIMESTAMP_NS '2001-01-01 00:00:00.123456789', '29/02/2024', 'ann', true, 9000000000::BIGINT, 200::UTINYINT, '42'),
              (-2147483648, -0.25::FLOAT, -0.005::DECIMAL(10,3), DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59.5', TIMESTAMP_MS '1970-01-01 00:00:00', TIMESTAMP_NS '1969-12-31 23:59:59.999999999', '01/01/1970', 'Ünïcødé, "quoted"', false, -1::BIGINT, 0::UTINYINT, '-7'),
              (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
              (2147483647, 3.4028235e38::FLOAT, 9999999.999::DECIMAL(10,3), DATE '9999-12-31', TIMESTAMP '2262-04-11 23:47:16', TIMESTAMP_MS '1900-01-01 12:00:00', TIMESTAMP_NS '2200-06-15 12:34:56.123456789', '31/12/9999', '', true, 9223372036854775807::BIGINT, 255::UTINYINT, '0'),
              (0, 0::FLOAT, 0.015::DECIMAL(10,3), DATE '0001-01-01', TIMESTAMP '0001-01-01 00:00:00', TIMESTAMP_MS '2024-06-01 06:00:00', TIMESTAMP_NS '1970-01-01 00:00:00', '15/06/2024', 'tab	and
            newline', false, (-9223372036854775807 - 1)::BIGINT, 1::UTINYINT, '2147483648'),
              (7, 1e-7::FLOAT, -1.235::DECIMAL(10,3), DATE '2000-01-01', TIMESTAMP '2000-01-01 00:00:00.000001', TIMESTAMP_MS '2000-01-01 00:00:00.001', TIMESTAMP_NS '2000-01-01 00:00:00.000001999', '01/01/2000', 'z', NULL, 5::BIGINT, 128::UTINYINT, NULL)
            ) t(i32, f32, dec3, d, ts_us, ts_ms, ts_ns, dtext, name, flag, big, u8, numtext)) TO {DuckDbQuery.Literal(path)} (FORMAT parquet, ROW_GROUP_SIZE {rowGroupSize})
            """);
        return path;
    }

    private const string TypedSpec = """
        table: typed
        columns:
          - { name: i64, type: int64, source: i32 }
          - { name: f64, type: float64, source: f32 }
          - { name: dec2, type: "decimal(12,2)", source: dec3 }
          - { name: dec5, type: "decimal(15,5)", source: dec3 }
          - { name: d_as_ts, type: timestamp, source: d }
          - { name: ts_us, type: timestamp }
          - { name: ts_ms_as_date, type: date, source: ts_ms }
          - { name: ts_ns, type: timestamp }
          - { name: dtext, type: date, format: dd/MM/yyyy }
          - { name: name, type: string }
          - { name: flag, type: bool }
          - { name: big_dec, type: "decimal(20,1)", source: big }
          - { name: u8_as_int16, type: int16, source: u8 }
          - { name: num, type: int32, source: numtext }
          - { name: i32_text, type: string, source: i32 }
          - { name: dec_text, type: string, source: dec3 }
          - { name: ts_text, type: string, source: ts_us }
        """;

    private static async Task<LoadResult> LoadAsync(string input, string target, TableSpec? spec, LoadOptions? options = null)
    {
        var pipeline = new LoadPipeline(options ?? new LoadOptions());
        await using var sink = SinkTarget.Create(target, spec?.Name ?? "t");
        return await pipeline.RunAsync(LocalFileSource.List(input), spec, sink, default);
    }

    [Fact]
    public async Task Typed_columns_cast_to_the_spec_types_by_the_documented_rules()
    {
        var input = WriteTypedParquet(_dir.File("typed.parquet"));
        var output = _dir.File("out.parquet");
        var rejects = _dir.File("rejects.parquet");

        var result = await LoadAsync(input, $"parquet:{output}", TableSpecReader.Read(TypedSpec, "typed.yaml") with { MaxRejectRatio = 1 }, new LoadOptions { RejectsPath = rejects });

        // Row 5's numtext '2147483648' does not fit int32: that row alone is rejected, naming file, row and column.
        Assert.Equal((6L, 5L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var reject = DuckDbQuery.Rows($"SELECT line, field, \"column\", reason, value FROM read_parquet({DuckDbQuery.Literal(rejects)})").Single();
        Assert.Equal([5L, 13, "num", "integer out of range", "2147483648"], reject.Select(v => v is int i ? (object)i : v));

        var rows = DuckDbQuery.Rows($"""
            SELECT i64, f64, dec2::VARCHAR, dec5::VARCHAR, d_as_ts::VARCHAR, ts_us::VARCHAR, ts_ms_as_date::VARCHAR, ts_ns::VARCHAR, dtext::VARCHAR,
                   name, flag, big_dec::VARCHAR, u8_as_int16, num, i32_text, dec_text, ts_text
            FROM read_parquet({DuckDbQuery.Literal(output)})
            """);
        Assert.Equal(5, rows.Count);
        Assert.Equal(
            [1L, 1.5, "12.35", "12.34500", "2024-02-29 00:00:00", "2024-02-29 13:45:06.789012", "2024-02-29", "2001-01-01 00:00:00.123456", "2024-02-29", "ann", true, "9000000000.0", (short)200, 42, "1", "12.345", "2024-02-29 13:45:06.789012"],
            rows[0]);
        Assert.Equal(
            [-2147483648L, -0.25, "-0.01", "-0.00500", "1969-12-31 00:00:00", "1969-12-31 23:59:59.5", "1970-01-01", "1969-12-31 23:59:59.999999", "1970-01-01", "Ünïcødé, \"quoted\"", false, "-1.0", (short)0, -7, "-2147483648", "-0.005", "1969-12-31 23:59:59.500000"],
            rows[1]);
        Assert.Equal(new object?[17], rows[2]);
        Assert.Equal(
            [2147483647L, (double)3.4028235e38f, "10000000.00", "9999999.99900", "9999-12-31 00:00:00", "2262-04-11 23:47:16", "1900-01-01", "2200-06-15 12:34:56.123456", "9999-12-31", "", true, "9223372036854775807.0", (short)255, 0, "2147483647", "9999999.999", "2262-04-11 23:47:16"],
            rows[3]);
        Assert.Equal(
            [7L, (double)1e-7f, "-1.24", "-1.23500", "2000-01-01 00:00:00", "2000-01-01 00:00:00.000001", "2000-01-01", "2000-01-01 00:00:00.000001", "2000-01-01", "z", null, "5.0", (short)128, null, "7", "-1.235", "2000-01-01 00:00:00.000001"],
            rows[4]);
    }

    /// <summary>The microsecond a nanosecond timestamp falls in, in exact integers (DuckDB's own cast truncates toward zero).</summary>
    private const string FlooredToMicros = "ts_ns::TIMESTAMP - CASE WHEN epoch_ns(ts_ns) < 0 AND epoch_ns(ts_ns) % 1000 <> 0 THEN INTERVAL 1 MICROSECOND ELSE INTERVAL 0 MICROSECOND END";

    [Fact]
    public async Task Without_a_spec_the_columns_keep_their_parquet_types_in_duckdb()
    {
        var input = WriteTypedParquet(_dir.File("typed.parquet"));
        var db = _dir.File("out.duckdb");

        var result = await LoadAsync(input, $"duckdb:{db}", null);

        Assert.Equal(6L, result.RowsLoaded);
        Assert.Equal(
            [("i32", "INTEGER"), ("f32", "DOUBLE"), ("dec3", "DECIMAL(10,3)"), ("d", "DATE"), ("ts_us", "TIMESTAMP"), ("ts_ms", "TIMESTAMP"), ("ts_ns", "TIMESTAMP"),
             ("dtext", "VARCHAR"), ("name", "VARCHAR"), ("flag", "BOOLEAN"), ("big", "BIGINT"), ("u8", "SMALLINT"), ("numtext", "VARCHAR")],
            DuckDbQuery.Describe(db, "t"));

        // Every value as DuckDB reads the source itself (timestamps at microseconds, floats widened).
        var source = $"SELECT i32, f32::DOUBLE, dec3, d, ts_us, ts_ms::TIMESTAMP, {FlooredToMicros}, dtext, name, flag, big, u8::SMALLINT, numtext FROM read_parquet({DuckDbQuery.Literal(input)})";
        var differ = DuckDbQuery.Rows(db, $"SELECT 'missing', * FROM ({source} EXCEPT ALL SELECT * FROM t) UNION ALL SELECT 'extra', * FROM (SELECT * FROM t EXCEPT ALL {source})");
        Assert.Empty(differ);
    }

    [Fact]
    public async Task Into_csv_each_value_is_written_as_its_text()
    {
        var input = WriteTypedParquet(_dir.File("typed.parquet"));
        var output = _dir.File("out.csv");
        var spec = TableSpecReader.Read("""
            table: t
            columns:
              - { name: i32, type: int32 }
              - { name: dec3, type: "decimal(10,3)" }
              - { name: d, type: date }
              - { name: name, type: string }
              - { name: flag, type: bool }
            """, "t.yaml");

        await LoadAsync(input, $"csv:{output}", spec);

        Assert.Equal(
            "i32,dec3,d,name,flag\n1,12.345,2024-02-29,ann,true\n-2147483648,-0.005,1969-12-31,\"Ünïcødé, \"\"quoted\"\"\",false\n\\N,\\N,\\N,\\N,\\N\n2147483647,9999999.999,9999-12-31,,true\n0,0.015,0001-01-01,\"tab\tand\nnewline\",false\n7,-1.235,2000-01-01,z,\\N\n",
            await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task A_row_group_larger_than_a_batch_is_read_in_slices_of_the_batch_rows()
    {
        var input = _dir.File("big.parquet");
        DuckDbQuery.Rows($"COPY (SELECT range AS id, 'name ' || range AS name FROM range(100000)) TO {DuckDbQuery.Literal(input)} (FORMAT parquet, ROW_GROUP_SIZE 100000)");
        var spec = new TableSpec
        {
            Name = "t",
            Columns = [new ColumnSpec { Name = "id", Type = new ColumnType(ColumnKind.Int64) }],
            Csv = EtlStream.Formats.Csv.CsvOptions.Default with { BatchRows = 7000 },
        };

        using var reader = ParquetFormat.Instance.Open(Stream.Null, "big.parquet", spec, input);
        Assert.Equal(["id", "name"], await reader.ReadHeaderAsync(default));
        var sizes = new List<int>();
        long sum = 0;
        while (await reader.ReadBatchAsync(default) is { } batch)
        {
            using (batch)
            {
                sizes.Add(batch.RowCount);
                Assert.Null(batch.Typed(1)); // the spec does not read 'name': never decoded
                var ids = (Apache.Arrow.Int64Array)batch.Typed(0)!;
                for (var i = 0; i < ids.Length; i++)
                {
                    sum += ids.GetValue(i)!.Value;
                }
            }
        }

        Assert.Equal(15, sizes.Count);
        Assert.All(sizes[..^1], n => Assert.Equal(7000, n));
        Assert.Equal(100000 - (14 * 7000), sizes[^1]);
        Assert.Equal(99999L * 100000 / 2, sum);
    }

    [Fact]
    public async Task A_gzipped_parquet_is_spooled_to_a_temporary_file_that_is_removed_after_the_load()
    {
        var plain = WriteTypedParquet(_dir.File("typed.parquet"));
        var input = _dir.File("typed.parquet.gz");
        await using (var gz = new System.IO.Compression.GZipStream(File.Create(input), System.IO.Compression.CompressionLevel.Fastest))
        {
            await using var source = File.OpenRead(plain);
            await source.CopyToAsync(gz);
        }

        var tmp = Directory.CreateDirectory(_dir.File("tmp")).FullName;
        var output = _dir.File("out.parquet");
        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, new Dictionary<string, string?> { ["TMPDIR"] = tmp }, "load", input, "--to", $"parquet:{output}", "--no-progress");

        Assert.True(code == 0, err);
        Assert.Equal(6L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM read_parquet({DuckDbQuery.Literal(output)})"));
        Assert.Equal(
            DuckDbQuery.Rows($"SELECT i32, dec3, name FROM read_parquet({DuckDbQuery.Literal(plain)}) ORDER BY i32"),
            DuckDbQuery.Rows($"SELECT i32, dec3, name FROM read_parquet({DuckDbQuery.Literal(output)}) ORDER BY i32"));
        Assert.Empty(Directory.GetFiles(tmp, "etlstream-spool-*"));
    }

    [Fact]
    public async Task A_truncated_parquet_file_fails_the_run_naming_the_file_as_corrupt()
    {
        var plain = WriteTypedParquet(_dir.File("typed.parquet"));
        var input = _dir.File("cut.parquet");
        var bytes = await File.ReadAllBytesAsync(plain);
        await File.WriteAllBytesAsync(input, bytes[..(bytes.Length / 2)]);

        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--to", $"parquet:{_dir.File("o.parquet")}", "--no-progress");

        Assert.Equal(1, code);
        Assert.Contains($"{input}: corrupt Parquet file: ", err);
        Assert.False(File.Exists(_dir.File("o.parquet")));
    }

    [Fact]
    public async Task A_gzipped_truncated_parquet_names_the_entry_not_the_spool_file()
    {
        var plain = WriteTypedParquet(_dir.File("typed.parquet"));
        var input = _dir.File("cut.parquet.gz");
        var bytes = await File.ReadAllBytesAsync(plain);
        await using (var gz = new System.IO.Compression.GZipStream(File.Create(input), System.IO.Compression.CompressionLevel.Fastest))
        {
            await gz.WriteAsync(bytes.AsMemory(0, bytes.Length - 3));
        }

        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--to", $"parquet:{_dir.File("o.parquet")}", "--no-progress");

        Assert.Equal(1, code);
        Assert.Contains($"{input}: corrupt Parquet file: ", err);
        Assert.DoesNotContain("etlstream-spool", err);
    }

    [Fact]
    public async Task A_spec_column_missing_from_the_file_is_named_with_the_columns_it_has()
    {
        var input = WriteTypedParquet(_dir.File("typed.parquet"));
        var spec = TableSpecReader.Read("table: t\ncolumns:\n  - { name: i32, type: int64 }\n  - { name: amount, type: \"decimal(10,2)\" }\n", "t.yaml");

        var e = await Assert.ThrowsAsync<EtlStream.Transforms.SourceSchemaException>(() => LoadAsync(input, $"parquet:{_dir.File("o.parquet")}", spec));

        Assert.Equal($"{input}: the header has no column for 'amount'; it has: i32, f32, dec3, d, ts_us, ts_ms, ts_ns, dtext, name, flag, big, u8, numtext", e.Message);
    }

    [Fact]
    public async Task Strict_schema_drift_fails_on_a_column_the_spec_does_not_read()
    {
        var input = WriteTypedParquet(_dir.File("typed.parquet"));
        var spec = TableSpecReader.Read("table: t\nschema_drift: strict\ncolumns:\n  - { name: i32, type: int64 }\n", "t.yaml");

        var e = await Assert.ThrowsAsync<EtlStream.Transforms.SourceSchemaException>(() => LoadAsync(input, $"parquet:{_dir.File("o.parquet")}", spec));

        Assert.Equal($"{input}: schema drift (schema_drift: strict): new columns f32, dec3, d, ts_us, ts_ms, ts_ns, dtext, name, flag, big, u8, numtext", e.Message);
    }

    [Fact]
    public async Task A_string_value_that_does_not_convert_fails_the_file_naming_file_row_and_column()
    {
        var input = _dir.File("bad.parquet");
        DuckDbQuery.Rows($"COPY (SELECT * FROM (VALUES ('a', '1'), ('b', '2'), ('c', 'x3'), ('d', '4')) t(code, qty)) TO {DuckDbQuery.Literal(input)} (FORMAT parquet)");
        var spec = TableSpecReader.Read("table: t\non_error: fail_file\ncolumns:\n  - { name: code, type: string }\n  - { name: qty, type: int64 }\n", "t.yaml");

        var e = await Assert.ThrowsAsync<EtlStream.Transforms.DataConversionException>(() => LoadAsync(input, $"parquet:{_dir.File("o.parquet")}", spec));

        Assert.Equal($"{input}:3:2: column 'qty': cannot convert 'x3' to int64: not an integer", e.Message);
    }

    [Fact]
    public async Task A_rejected_row_keeps_its_raw_text_in_the_rejects_file()
    {
        var input = _dir.File("bad.parquet");
        DuckDbQuery.Rows($"COPY (SELECT * FROM (VALUES ('a', '1', 1.5), ('b,c', 'x2', -2.25), ('d', '4', NULL)) t(code, qty, price)) TO {DuckDbQuery.Literal(input)} (FORMAT parquet)");
        var spec = TableSpecReader.Read("table: t\ncolumns:\n  - { name: code, type: string }\n  - { name: qty, type: int64 }\n  - { name: price, type: float64 }\n", "t.yaml");
        var rejects = _dir.File("rejects.parquet");

        var result = await LoadAsync(input, $"parquet:{_dir.File("o.parquet")}", spec with { MaxRejectRatio = 1 }, new LoadOptions { RejectsPath = rejects });

        Assert.Equal((3L, 2L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        var row = DuckDbQuery.Rows($"SELECT line, \"column\", value, raw_row FROM read_parquet({DuckDbQuery.Literal(rejects)})").Single();
        Assert.Equal([2L, "qty", "x2", "\"b,c\",x2,-2.25"], row);
    }

    [Fact]
    public async Task The_real_flights_3m_parquet_loads_every_value_as_duckdb_reads_it()
    {
        var input = await NpmDataPackage.FileAsync("vega-datasets", "3.2.1", "data/flights-3m.parquet");
        var output = _dir.File("flights.parquet");

        var result = await LoadAsync(input, $"parquet:{output}", null);

        Assert.Equal(3_000_000L, result.RowsLoaded);
        Assert.Equal(
            [("date", "TIMESTAMP"), ("delay", "BIGINT"), ("distance", "BIGINT"), ("origin", "VARCHAR"), ("destination", "VARCHAR")],
            DuckDbQuery.Describe(null, $"read_parquet({DuckDbQuery.Literal(output)})"));
        var differ = DuckDbQuery.Scalar(null, $"""
            SELECT count(*) FROM (
              (SELECT * FROM read_parquet({DuckDbQuery.Literal(input)}) EXCEPT ALL SELECT * FROM read_parquet({DuckDbQuery.Literal(output)}))
              UNION ALL
              (SELECT * FROM read_parquet({DuckDbQuery.Literal(output)}) EXCEPT ALL SELECT * FROM read_parquet({DuckDbQuery.Literal(input)})))
            """);
        Assert.Equal(0L, differ);
    }

    [Fact]
    public void Parquet_is_recognised_by_its_magic()
    {
        Assert.Same(ParquetFormat.Instance, InputFormats.Recognize("PAR1\u0015\u0004"u8));
        Assert.Same(ParquetFormat.Instance, InputFormats.Find("Parquet"));
    }
}
