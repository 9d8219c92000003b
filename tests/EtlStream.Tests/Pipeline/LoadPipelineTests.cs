using System.Diagnostics;
using System.Text;
using Apache.Arrow;
using EtlStream.Formats.Csv;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;
using EtlStream.Transforms;

namespace EtlStream.Tests.Pipeline;

public sealed class LoadPipelineTests : IDisposable
{
    private static readonly string StandardJobSpec = Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml");
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<LoadResult> LoadAsync(string input, string target, TableSpec? spec = null, CancellationToken token = default)
    {
        var pipeline = new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24) });
        await using var sink = SinkTarget.Create(target, spec?.Name ?? "t");
        return await pipeline.RunAsync(LocalFileSource.List(input), spec, sink, token);
    }

    private const string Header = "Invoice_No,Invoice_Date,Dealer_Code,Dealer_Name,Territory,Region,Product_Code,Product_Name,Category,Qty,Unit_Price,Discount_Pct,Net_Amount,Tax_Amount,Gross_Amount,Currency,Salesman_Code,Active_Flag,Created_At,Remarks,Batch_No,Is_Return\n";

    [Fact]
    public async Task Standard_job_lands_exact_values_in_parquet()
    {
        var csv = Header
            + "INV-000000001,24-11-2026,D000001,\"Sharma Traders, Pune\",  Pune West  ,West,P000001,\"Fevicol \"\"SH\"\" 1kg\",Adhesives,10,125.50,5.00,1192.25,214.61,1406.86,INR,S00001,Y,2026-11-24 09:15:00,,B1A2B3C4,FALSE\n"
            + "INV-000000002,01-01-2025,D000002,Müller & Söhne,Nagpur,Central,P000002,Two,Sealants,0,1.00,0.00,0.00,0.00,0.00,INR,S00002,Y,2025-01-01 00:00:00,,B00000002,FALSE\n"
            + "INV-000000003,29-02-2024,D000003, Şahin ,Thane,West,P000003,Prod 3,Paints,-5,9999999999999999.99,40.00,-299.97,-54.00,-1.00,AED,,N,2024-02-29 23:59:59,\"line one\nline two\",,TRUE\n";
        var input = _dir.File("invoices_2026-11-24.csv");
        await File.WriteAllTextAsync(input, csv);
        var output = _dir.File("out/fact.parquet");

        var result = await LoadAsync(input, $"parquet:{output}", TableSpecReader.ReadFile(StandardJobSpec));

        Assert.Equal((3L, 2L, 1L), (result.RowsRead, result.RowsLoaded, result.RowsFiltered));
        Assert.Equal(Encoding.UTF8.GetByteCount(csv), result.BytesRead);
        var relation = $"read_parquet({DuckDbQuery.Literal(output)})";
        Assert.Equal(
            [
                ("invoice_key", "VARCHAR"), ("invoice_no", "VARCHAR"), ("invoice_date", "DATE"), ("dealer_code", "VARCHAR"),
                ("dealer_name", "VARCHAR"), ("territory", "VARCHAR"), ("region", "VARCHAR"), ("product_code", "VARCHAR"),
                ("product_name", "VARCHAR"), ("category", "VARCHAR"), ("qty", "BIGINT"), ("unit_price", "DECIMAL(18,2)"),
                ("discount_pct", "DECIMAL(5,2)"), ("net_amount", "DECIMAL(18,2)"), ("tax_amount", "DECIMAL(18,2)"),
                ("gross_amount", "DECIMAL(18,2)"), ("currency", "VARCHAR"), ("salesman_code", "VARCHAR"), ("active_flag", "BOOLEAN"),
                ("created_at", "TIMESTAMP"), ("remarks", "VARCHAR"), ("batch_no", "VARCHAR"), ("is_return", "BOOLEAN"),
            ],
            DuckDbQuery.Describe(null, relation));

        var rows = DuckDbQuery.Rows($"SELECT * FROM {relation} ORDER BY invoice_no");
        Assert.Equal(2, rows.Count);
        var first = rows[0];
        Assert.Equal("D000001|INV-000000001", first[0]);
        Assert.Equal(new DateOnly(2026, 11, 24), first[2]);
        Assert.Equal("Sharma Traders, Pune", first[4]);
        Assert.Equal("Pune West", first[5]); // trimmed
        Assert.Equal("Fevicol \"SH\" 1kg", first[8]);
        Assert.Equal(10L, first[10]);
        Assert.Equal(125.50m, first[11]);
        Assert.Equal(5.00m, first[12]);
        Assert.Equal(1406.86m, first[15]);
        Assert.Equal(true, first[18]);
        Assert.Equal(new DateTime(2026, 11, 24, 9, 15, 0), first[19]);
        Assert.Null(first[20]); // empty remarks is NULL
        Assert.Equal(false, first[22]);

        var third = rows[1];
        Assert.Equal("D000003|INV-000000003", third[0]);
        Assert.Equal(new DateOnly(2024, 2, 29), third[2]);
        Assert.Equal("Şahin", third[4]);
        Assert.Equal(-5L, third[10]);
        Assert.Equal(9999999999999999.99m, third[11]);
        Assert.Equal(-1.00m, third[15]);
        Assert.Equal("AED", third[16]);
        Assert.Null(third[17]);
        Assert.Equal(false, third[18]);
        Assert.Equal("line one\nline two", third[20]); // the embedded line break survives
        Assert.Null(third[21]);
        Assert.Equal(true, third[22]);
    }

    [Theory]
    [InlineData("csv.gz")]
    [InlineData("csv.zip")]
    [InlineData("csv.bz2")]
    [InlineData("csv.zst")]
    [InlineData("csv")]
    public async Task Generated_file_in_every_compression_matches_DuckDB_reading_the_same_csv(string extension)
    {
        const int rows = 30_000; // several batches of 8 Ki rows below
        var plain = _dir.File("oracle.csv");
        await InvoiceGenerator.WriteFileAsync(plain, rows, seed: 7, default);
        var input = _dir.File($"in/invoices.{extension}");
        await InvoiceGenerator.WriteFileAsync(input, rows, seed: 7, default);
        var spec = TableSpecReader.ReadFile(StandardJobSpec);
        spec = spec with { Csv = spec.Csv with { BatchRows = 8 * 1024 } };
        var output = _dir.File("out.parquet");

        var result = await LoadAsync(input, $"parquet:{output}", spec);

        // DuckDB reads the plain CSV itself: an independent count and sums for the same job.
        var expected = DuckDbQuery.Rows($"""
            SELECT count(*), sum(trim(Qty)::BIGINT)::BIGINT, sum(trim(Gross_Amount)::DECIMAL(18,2))::DECIMAL(38,2)
            FROM read_csv({DuckDbQuery.Literal(plain)}, header = true, all_varchar = true)
            WHERE trim(Qty)::BIGINT <> 0
            """).Single();
        var actual = DuckDbQuery.Rows($"SELECT count(*), sum(qty)::BIGINT, sum(gross_amount)::DECIMAL(38,2) FROM read_parquet({DuckDbQuery.Literal(output)})").Single();
        Assert.Equal((long)rows, result.RowsRead);
        Assert.Equal(Convert.ToInt64(expected[0]), result.RowsLoaded);
        Assert.Equal(Convert.ToInt64(expected[0]), Convert.ToInt64(actual[0]));
        Assert.Equal(Convert.ToDecimal(expected[1]), Convert.ToDecimal(actual[1]));
        Assert.Equal(Convert.ToDecimal(expected[2]), Convert.ToDecimal(actual[2]));
    }

    [Fact]
    public async Task A_folder_of_daily_files_loads_into_duckdb_and_replace_mode_makes_reruns_harmless()
    {
        for (var day = 1; day <= 3; day++)
        {
            await InvoiceGenerator.WriteFileAsync(_dir.File($"in/invoices_2026-11-0{day}.csv.gz"), 2_000, seed: day, default);
        }

        var db = _dir.File("warehouse.duckdb");
        var spec = TableSpecReader.ReadFile(StandardJobSpec);
        var first = await LoadAsync(_dir.File("in"), $"duckdb:{db}?mode=replace", spec);
        var second = await LoadAsync(_dir.File("in/*.csv.gz"), $"duckdb:{db}?mode=replace", spec);

        Assert.Equal(3, first.Files);
        Assert.Equal(6_000, first.RowsRead);
        Assert.Equal(first.RowsLoaded, second.RowsLoaded);
        Assert.Equal(first.RowsLoaded, Convert.ToInt64(DuckDbQuery.Scalar(db, "SELECT count(*) FROM fact_invoice_secondary")));
        Assert.Equal(0L, Convert.ToInt64(DuckDbQuery.Scalar(db, "SELECT count(*) FROM fact_invoice_secondary WHERE qty = 0")));
    }

    [Fact]
    public async Task Without_a_spec_every_column_is_a_nullable_string_named_from_the_header()
    {
        var input = _dir.File("plain.csv");
        await File.WriteAllTextAsync(input, "Id,Name\n1,Ann\n2,\n");
        var output = _dir.File("plain.parquet");
        await LoadAsync(input, $"parquet:{output}");
        var relation = $"read_parquet({DuckDbQuery.Literal(output)})";
        Assert.Equal([("Id", "VARCHAR"), ("Name", "VARCHAR")], DuckDbQuery.Describe(null, relation));
        Assert.Equal([["1", "Ann"], ["2", null]], DuckDbQuery.Rows($"SELECT * FROM {relation} ORDER BY Id"));
    }

    [Fact]
    public async Task A_pipeline_runs_once_and_a_second_run_fails_at_once_without_touching_its_sink()
    {
        var input = _dir.File("plain.csv");
        await File.WriteAllTextAsync(input, "Id,Name\n1,Ann\n2,\n");
        var pipeline = new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24) });
        var first = _dir.File("first.parquet");
        await using (var sink = SinkTarget.Create($"parquet:{first}", "t"))
        {
            var result = await pipeline.RunAsync(LocalFileSource.List(input), null, sink, CancellationToken.None);
            Assert.Equal((2L, 2L), (result.RowsRead, result.RowsLoaded));
        }

        var second = _dir.File("second.parquet");
        await using (var sink = SinkTarget.Create($"parquet:{second}", "t"))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(
                () => pipeline.RunAsync(LocalFileSource.List(input), null, sink, CancellationToken.None));
            Assert.Equal("a LoadPipeline runs once; make a new one per run", error.Message);
        }

        Assert.True(File.Exists(first));
        Assert.False(File.Exists(second));
        Assert.Equal((1L, 2L), (pipeline.Progress.FilesDone, pipeline.Progress.RowsRead)); // the first run's totals, not doubled
    }

    [Fact]
    public async Task A_malformed_file_fails_the_run_naming_file_line_and_field_and_leaves_no_output()
    {
        var input = _dir.File("bad.csv.gz");
        var good = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i},x\n"));
        await using (var gz = new System.IO.Compression.GZipStream(File.Create(input), System.IO.Compression.CompressionLevel.Fastest))
        {
            await gz.WriteAsync(Encoding.UTF8.GetBytes("id,name\n" + good + "20000,\"oops\n"));
        }

        var output = _dir.File("bad.parquet");
        var e = await Assert.ThrowsAsync<CsvFormatException>(() => LoadAsync(input, $"parquet:{output}"));
        Assert.Equal(input, e.File);
        Assert.Equal(20_002, e.Line);
        Assert.Equal(2, e.Column);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.parquet*"));
    }

    [Fact]
    public async Task A_failing_sink_stops_the_run_with_its_error_instead_of_hanging()
    {
        var input = _dir.File("many.csv");
        await File.WriteAllTextAsync(input, "n\n" + string.Join("\n", Enumerable.Range(0, 50_000)) + "\n");
        var spec = TableSpec.AllStrings("t", ["n"]) with { Csv = CsvOptions.Default with { BatchRows = 1000 } };
        var pipeline = new LoadPipeline(new LoadOptions());
        await using var sink = new FailingSink(failOnWrite: 3);

        var e = await Assert.ThrowsAsync<IOException>(() => pipeline.RunAsync(LocalFileSource.List(input), spec, sink, default));
        Assert.Equal("disk full on write 3", e.Message);
        Assert.False(sink.Completed);
    }

    [Fact]
    public async Task Cancellation_ends_an_endless_run_within_a_second()
    {
        var endless = new SourceFile("endless.csv", -1, "v1", _ => ValueTask.FromResult<Stream>(new EndlessCsvStream()));
        var pipeline = new LoadPipeline(new LoadOptions());
        using var cts = new CancellationTokenSource();
        await using var sink = new FailingSink(failOnWrite: int.MaxValue);
        var run = pipeline.RunAsync([endless], TableSpec.AllStrings("t", ["a", "b"]), sink, cts.Token);

        while (sink.Writes < 3)
        {
            await Task.Delay(10); // rows are flowing
        }

        var cancelled = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(cancelled.Elapsed < TimeSpan.FromSeconds(1), $"the run took {cancelled.Elapsed} to stop");
        Assert.False(sink.Completed);
    }

    [Fact]
    public async Task Rejected_rows_go_to_a_parquet_rejects_file_and_the_reject_ratio_decides_the_run()
    {
        var input = _dir.File("day.csv");
        var rows = string.Concat(Enumerable.Range(1, 98).Select(i => $"{i},{i}.50\n"));
        await File.WriteAllTextAsync(input, "id,amount\n" + rows + "99,12.x\n100,\n");
        const string Yaml = "table: t\nmax_reject_ratio: RATIO\ncolumns:\n  - { name: id, type: int64 }\n  - { name: amount, type: \"decimal(10,2)\", nullable: false }\n";
        async Task<LoadResult> Run(string ratio, string output, string rejects, string? rejectsTable = null)
        {
            var pipeline = new LoadPipeline(new LoadOptions { RejectsPath = rejects, RejectsTable = rejectsTable });
            await using var sink = SinkTarget.Create($"parquet:{output}", "t");
            return await pipeline.RunAsync(LocalFileSource.List(input), TableSpecReader.Read(Yaml.Replace("RATIO", ratio, StringComparison.Ordinal), "t.yaml"), sink, default);
        }

        var rejectsDb = _dir.File("rejects.duckdb");
        var ok = await Run("0.05", _dir.File("ok.parquet"), _dir.File("rejects/ok.parquet"), $"duckdb:{rejectsDb}?table=etl_rejects");
        Assert.Equal((100L, 98L, 2L, 0L), (ok.RowsRead, ok.RowsLoaded, ok.RowsRejected, ok.RowsFiltered));
        Assert.Equal(new Dictionary<string, long> { ["conversion"] = 1, ["not_null"] = 1 }, ok.RejectsByRule);
        Assert.Equal(98L, Convert.ToInt64(DuckDbQuery.Scalar(null, $"SELECT count(*) FROM read_parquet({DuckDbQuery.Literal(_dir.File("ok.parquet"))})")));
        var rejects = DuckDbQuery.Rows($"SELECT source_file, line, field, \"column\", rule, value, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(ok.RejectsPath!)}) ORDER BY line");
        Assert.Equal([input, 100L, 2, "amount", "conversion", "12.x", "not a decimal number", "99,12.x"], rejects[0]);
        Assert.Equal([input, 101L, 2, "amount", "not_null", "", "NULL in a NOT NULL column", "100,"], rejects[1]);
        Assert.Equal([["t", 100L, "conversion"], ["t", 101L, "not_null"]], DuckDbQuery.Rows(rejectsDb, "SELECT target_table, line, rule FROM etl_rejects ORDER BY line"));

        var e = await Assert.ThrowsAsync<RejectLimitException>(() => Run("0.01", _dir.File("no.parquet"), _dir.File("rejects/no.parquet")));
        Assert.StartsWith($"{input}: 2 of 100 rows rejected (2.00 %), over max_reject_ratio 0.01; first: line 100, column 'amount': not a decimal number (value '12.x'); rejected rows are in ", e.Message);
        Assert.False(File.Exists(_dir.File("no.parquet"))); // nothing committed
        Assert.True(File.Exists(_dir.File("rejects/no.parquet"))); // the rejects are kept
    }

    [Fact]
    public async Task Evolve_adds_new_source_columns_to_the_table_and_files_without_them_load_null()
    {
        Directory.CreateDirectory(_dir.File("in"));
        await File.WriteAllTextAsync(_dir.File("in/a.csv"), "id,name\n1,ann\n");
        var db = _dir.File("w.duckdb");
        var spec = TableSpecReader.Read("table: people\nschema_drift: evolve\ncolumns:\n  - { name: id, type: int64 }\n  - { name: name, type: string }\n", "p.yaml");
        async Task<LoadResult> Load()
        {
            await using var sink = SinkTarget.Create($"duckdb:{db}", "people");
            return await new LoadPipeline(new LoadOptions()).RunAsync(LocalFileSource.List(_dir.File("in")), spec, sink, default);
        }

        await Load(); // the table is (id, name)
        await File.WriteAllTextAsync(_dir.File("in/b.csv"), "id,name,Email,Phone\n2,bob,bob@x.org,555\n");
        var second = await Load(); // b.csv brings Email and Phone: added to the table, NULL for a.csv's row

        Assert.Equal(2, second.RowsLoaded);
        Assert.Equal([("id", "BIGINT"), ("name", "VARCHAR"), ("Email", "VARCHAR"), ("Phone", "VARCHAR")], DuckDbQuery.Describe(db, "people"));
        Assert.Equal([[1L, "ann", null, null], [1L, "ann", null, null], [2L, "bob", "bob@x.org", "555"]], DuckDbQuery.Rows(db, "SELECT * FROM people ORDER BY id"));
    }

    /// <summary>A sink that counts writes and fails on the Nth.</summary>
    private sealed class FailingSink(int failOnWrite) : IBatchSink
    {
        private int _writes;

        public int Writes => Volatile.Read(ref _writes);

        public bool Completed { get; private set; }

        public int MaxConcurrency => 1;

        public int PreferredChunkRows => 1;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _writes) == failOnWrite ? throw new IOException($"disk full on write {failOnWrite}") : ValueTask.CompletedTask;

        public ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            Completed = true;
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A CSV that never ends: only cancellation can stop a run over it.</summary>
    private sealed class EndlessCsvStream : ForwardReadStream
    {
        private static readonly byte[] Row = "12345,some text value\n"u8.ToArray();
        private bool _headerSent;
        private int _pos;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_headerSent)
            {
                _headerSent = true;
                "a,b\n"u8.CopyTo(buffer.AsSpan(offset));
                return 4;
            }

            for (var i = 0; i < count; i++)
            {
                buffer[offset + i] = Row[_pos];
                _pos = (_pos + 1) % Row.Length;
            }

            return count;
        }
    }
}
