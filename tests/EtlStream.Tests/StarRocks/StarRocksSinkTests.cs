using System.Globalization;
using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks.StarRocks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using EtlStream.Transforms;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// The StarRocks sink end to end through the LoadPipeline, against the strict Stream Load protocol server that
/// commits into a real MariaDB: exact counts and values are read back from MariaDB.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksSinkTests(MariaDbServer mariaDb)
{
    private static readonly TableSpec TenChunkSpec = TableSpecReader.Read("""
        table: t10
        columns:
          - { name: id, type: int64, nullable: false }
          - { name: name, type: varchar(40) }
          - { name: amount, type: "decimal(18,2)" }
        """, "t10.yaml") with { Csv = CsvOptions.Default with { BatchRows = 100 } };

    /// <summary>1,000 rows: 10 chunks of 100 (tabs, quotes, commas, multi-byte text and NULLs among them).</summary>
    private static void WriteTenChunkFile(string path)
    {
        var sb = new StringBuilder("id,name,amount\n");
        for (var i = 1; i <= 1000; i++)
        {
            var name = (i % 7) switch
            {
                0 => "\"say \"\"hi\"\", ok\"",
                1 => "Ağrı\tDağı",
                2 => "",
                3 => "\\N",
                _ => $"näme-{i}",
            };
            sb.Append(CultureInfo.InvariantCulture, $"{i},{name},{i}.{i % 100:D2}\n");
        }

        File.WriteAllText(path, sb.ToString());
    }

    private static StarRocksSinkOptions TenChunks(StarRocksSinkOptions o) => o with { ChunkRows = 100 };

    private static async Task AssertTenChunkFileOnceAsync(StarRocksTestBed bed)
    {
        var row = (await bed.RowsAsync(
            "SELECT COUNT(*), COUNT(DISTINCT id), SUM(id), SUM(amount), SUM(name = 'Ağrı\tDağı'), SUM(name = 'say \"hi\", ok'), SUM(name LIKE 'näme-%') FROM t10"))[0];
        var amounts = Enumerable.Range(1, 1000).Sum(i => i + ((i % 100) / 100m));
        var names = Enumerable.Range(1, 1000).Count(i => i % 7 >= 4);
        Assert.Equal(
            [1000m, 1000m, 500500m, amounts, 143m, 142m, names],
            row.Select(v => Convert.ToDecimal(v, CultureInfo.InvariantCulture)).ToArray());
    }

    [Fact]
    public async Task The_standard_job_loads_every_row_once_with_exact_values()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await InvoiceGenerator.WriteFileAsync(bed.Dir.File("invoices_2026-11-24.csv"), 3000, seed: 11, default);
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"));
        spec = spec with { Csv = spec.Csv with { BatchRows = 500 } };
        await bed.CreateTableAsync(spec);

        var expected = new StarRocksRows.Recording();
        var files = LocalFileSource.List(bed.Dir.Path);
        await new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24), TenantId = "acme" }).RunAsync(files, spec, expected, default);

        var result = await bed.LoadAsync(spec, bed.Options(spec.Name, StreamLoadMode.Transaction) with { ChunkRows = 1000 });

        Assert.Equal(expected.Rows.Count, result.RowsLoaded);
        Assert.Equal(expected.Rows.Count, await bed.CountAsync(spec.Name));
        var names = string.Join(", ", expected.Schema!.FieldsList.Select(f => $"`{f.Name}`"));
        var actual = (await bed.RowsAsync($"SELECT {names} FROM `{spec.Name}`"))
            .Select(r => string.Join('\u001f', r.Select((v, i) => StarRocksRows.Text(v, expected.Schema.FieldsList[i].DataType))))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Rows.Order(StringComparer.Ordinal).ToList(), actual);

        // Per-column checksums, computed by MariaDB and by the engine.
        var sums = (await bed.RowsAsync($"SELECT SUM(qty), SUM(net_amount), SUM(gross_amount), COUNT(DISTINCT invoice_key), SUM(is_return) FROM `{spec.Name}`"))[0];
        var qty = expected.Schema.GetFieldIndex("qty");
        Assert.Equal(expected.Rows.Sum(r => long.Parse(r.Split('\u001f')[qty], CultureInfo.InvariantCulture)), Convert.ToInt64(sums[0], CultureInfo.InvariantCulture));
        var net = expected.Schema.GetFieldIndex("net_amount");
        Assert.Equal(expected.Rows.Sum(r => decimal.Parse(r.Split('\u001f')[net], CultureInfo.InvariantCulture)), (decimal)sums[1]!);
        var stats = bed.LastStats!;
        Assert.InRange(stats.Loads, 2, 3); // ~3,000 rows (less the qty = 0 ones) in loads of at least 1,000 rows
        Assert.Equal(bed.Server.Log.Count(l => l.StartsWith("BE PUT /api/transaction/load", StringComparison.Ordinal)), stats.Loads);
        Assert.Equal(1, stats.FilesCommitted);
        Assert.Equal(expected.Rows.Count, stats.RowsLoaded);
        Assert.Empty(bed.Server.OpenTransactions());
        Assert.Contains(bed.Server.Log, l => l.StartsWith("FE PUT /api/transaction/load", StringComparison.Ordinal)); // sent to the FE,
        Assert.Contains(bed.Server.Log, l => l.StartsWith("BE PUT /api/transaction/load", StringComparison.Ordinal)); // redirected to the BE
    }

    public static TheoryData<StreamLoadFaultKind> LabelModeFaults => new(Enum.GetValues<StreamLoadFaultKind>().Where(k => k != StreamLoadFaultKind.None));

    [Theory]
    [MemberData(nameof(LabelModeFaults))]
    public async Task Label_mode_a_ten_chunk_file_under_a_fault_lands_each_row_exactly_once(StreamLoadFaultKind kind)
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        bed.Server.Inject(new StreamLoadFault(StreamLoadFaultKind.None, "_stream_load"), new StreamLoadFault(StreamLoadFaultKind.None, "_stream_load"),
            new StreamLoadFault(kind, "_stream_load"), new StreamLoadFault(kind, "_stream_load") { ThenCommits = false });

        var result = await bed.LoadAsync(TenChunkSpec, TenChunks(bed.Options("t10", StreamLoadMode.Label)));

        Assert.Equal(0, bed.Server.PendingFaults);
        Assert.Equal(1000, result.RowsLoaded);
        await AssertTenChunkFileOnceAsync(bed);
        Assert.True(bed.LastStats!.Retries + bed.LastStats.LoadsAlreadyCommitted >= (kind == StreamLoadFaultKind.PublishTimeout ? 0 : 1), $"{kind}: no retry and no resolved label recorded");
    }

    [Fact]
    public async Task Label_mode_every_fault_in_one_run_still_lands_each_row_exactly_once()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        foreach (var kind in Enum.GetValues<StreamLoadFaultKind>())
        {
            bed.Server.Inject(new StreamLoadFault(kind, "_stream_load"));
        }

        await bed.LoadAsync(TenChunkSpec, TenChunks(bed.Options("t10", StreamLoadMode.Label)));

        Assert.Equal(0, bed.Server.PendingFaults);
        await AssertTenChunkFileOnceAsync(bed);
    }

    public static TheoryData<StreamLoadFaultKind, string> TransactionFaults()
    {
        var data = new TheoryData<StreamLoadFaultKind, string>();
        foreach (var kind in new[]
        {
            StreamLoadFaultKind.ResetBeforeCommit, StreamLoadFaultKind.ResetAfterCommit, StreamLoadFaultKind.SlowReply,
            StreamLoadFaultKind.ServiceUnavailable, StreamLoadFaultKind.ConcurrencyLimit,
        })
        {
            data.Add(kind, "transaction/begin");
            data.Add(kind, "transaction/load");
            data.Add(kind, "transaction/prepare");
            data.Add(kind, "transaction/commit");
        }

        data.Add(StreamLoadFaultKind.PublishTimeout, "transaction/commit");
        return data;
    }

    /// <summary>
    /// A fault in begin, prepare or commit is recovered in the run; a fault in a chunk's load aborts the file's
    /// transaction (the server rolls it back): nothing of the file is visible, and the rerun loads it once.
    /// </summary>
    [Theory]
    [MemberData(nameof(TransactionFaults))]
    public async Task Transaction_mode_a_ten_chunk_file_under_a_fault_is_atomic_and_lands_each_row_exactly_once(StreamLoadFaultKind kind, string path)
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        if (path == "transaction/load")
        {
            bed.Server.Inject(new StreamLoadFault(StreamLoadFaultKind.None, path), new StreamLoadFault(StreamLoadFaultKind.None, path), new StreamLoadFault(StreamLoadFaultKind.None, path));
        }

        bed.Server.Inject(new StreamLoadFault(kind, path));
        var options = TenChunks(bed.Options("t10", StreamLoadMode.Transaction));

        var first = await Record.ExceptionAsync(() => bed.LoadAsync(TenChunkSpec, options));

        Assert.Equal(0, bed.Server.PendingFaults);
        Assert.Empty(bed.Server.OpenTransactions());
        if (path == "transaction/load")
        {
            var failure = Assert.IsType<StreamLoadException>(first);
            Assert.Contains("chunk 3: transaction load failed", failure.Message, StringComparison.Ordinal);
            Assert.Equal(0, await bed.CountAsync("t10")); // atomic: no chunk of the file is visible
            await bed.LoadAsync(TenChunkSpec, options);
        }
        else
        {
            Assert.Null(first);
        }

        await AssertTenChunkFileOnceAsync(bed);
    }

    [Theory]
    [InlineData(StreamLoadMode.Transaction)]
    [InlineData(StreamLoadMode.Label)]
    public async Task A_rerun_of_a_finished_file_loads_nothing_new(StreamLoadMode mode)
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        var options = TenChunks(bed.Options("t10", mode));
        await bed.LoadAsync(TenChunkSpec, options);
        var committed = Interlocked.Read(ref bed.Server.LoadsCommitted);

        await bed.LoadAsync(TenChunkSpec, options);

        await AssertTenChunkFileOnceAsync(bed);
        Assert.Equal(committed, Interlocked.Read(ref bed.Server.LoadsCommitted));
        var stats = bed.LastStats!;
        Assert.Equal(0, stats.RowsLoaded);
        if (mode == StreamLoadMode.Transaction)
        {
            Assert.Equal(1, stats.FilesAlreadyLoaded);
            Assert.Equal(0, stats.Loads); // the begin said FINISHED: no body was sent at all
        }
        else
        {
            Assert.Equal(10, stats.LoadsAlreadyCommitted); // every chunk: Label Already Exists + FINISHED
        }
    }

    [Fact]
    public async Task A_transaction_left_open_by_a_dead_run_is_rolled_back_on_the_next_start()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        var options = TenChunks(bed.Options("t10", StreamLoadMode.Transaction));

        // A run that dies after its first chunk: the sink is never completed nor disposed.
        var dead = new StarRocksSink(options);
        var schema = new TableTransform(TenChunkSpec, new DateOnly(2026, 11, 24), "acme").OutputSchema;
        await dead.OpenAsync(schema, default);
        using var batch = new Apache.Arrow.RecordBatch(schema,
            [new Apache.Arrow.Int64Array.Builder().Append(1).Build(), new Apache.Arrow.StringArray.Builder().Append("x").Build(), new Apache.Arrow.Decimal128Array.Builder(new Apache.Arrow.Types.Decimal128Type(18, 2)).Append(1m).Build()], 1);
        var file = LocalFileSource.List(bed.Dir.Path)[0];
        await dead.WriteAsync(new EtlStream.Sinks.SinkChunk([batch], file, 0), default);
        Assert.Single(bed.Server.OpenTransactions());

        var next = new StarRocksSink(options);
        await using (next)
        {
            await next.OpenAsync(schema, default);
        }

        Assert.Empty(bed.Server.OpenTransactions());
        await bed.LoadAsync(TenChunkSpec, options);
        await AssertTenChunkFileOnceAsync(bed);
    }

    [Fact]
    public async Task Column_order_is_right_when_the_csv_and_the_table_order_columns_differently()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE co (c VARCHAR(10) NULL, a BIGINT NOT NULL, b DECIMAL(10,2) NULL)", bed.Database);
        File.WriteAllText(bed.Dir.File("co.csv"), "b,c,a\n1.50,x,1\n2.25,y,2\n,z,3\n");
        var spec = TableSpecReader.Read("""
            table: co
            columns:
              - { name: a, type: int64, nullable: false }
              - { name: b, type: "decimal(10,2)" }
              - { name: c, type: varchar(10) }
            """, "co.yaml");

        await bed.LoadAsync(spec, bed.Options("co"));

        var rows = await bed.RowsAsync("SELECT a, b, c FROM co ORDER BY a");
        Assert.Equal([[1L, 1.50m, "x"], [2L, 2.25m, "y"], [3L, null, "z"]], rows);
        Assert.Contains(bed.Server.Log, l => l.Contains("_stream_load", StringComparison.Ordinal));
    }

    private static readonly TableSpec VarcharSpec = TableSpecReader.Read("""
        table: vc
        columns:
          - { name: id, type: int64, nullable: false }
          - { name: name, type: varchar(20) }
        """, "vc.yaml");

    private static readonly TableSpec VarcharWidenSpec = TableSpecReader.Read("""
        table: vc
        columns:
          - { name: id, type: int64, nullable: false }
          - { name: name, type: varchar(20), overflow: widen }
        """, "vc.yaml");

    /// <summary>The live column is VARCHAR(5) — 5 UTF-8 bytes in StarRocks — while the spec says 20.</summary>
    private static async Task<StarRocksTestBed> VarcharBedAsync(MariaDbServer mariaDb)
    {
        var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE vc (id BIGINT NOT NULL, name VARCHAR(5) NULL)", bed.Database);
        File.WriteAllText(bed.Dir.File("vc.csv"), "id,name\n1,abc\n2,ab€\n3,abcdé\n4,日本語\n");
        return bed;
    }

    [Fact]
    public async Task Varchar_widening_makes_the_live_column_take_the_longest_multibyte_value()
    {
        await using var bed = await VarcharBedAsync(mariaDb);

        // The spec column's overflow: widen decides; the sink-wide option (reject) is for columns without one.
        await bed.LoadAsync(VarcharWidenSpec, bed.Options("vc") with { Overflow = VarcharOverflowPolicy.Reject });

        Assert.Equal([[1L, "abc"], [2L, "ab€"], [3L, "abcdé"], [4L, "日本語"]], await bed.RowsAsync("SELECT id, name FROM vc ORDER BY id"));
        Assert.Equal(9L, Convert.ToInt64(await mariaDb.ScalarAsync(
            $"SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.columns WHERE TABLE_SCHEMA = '{bed.Database}' AND TABLE_NAME = 'vc' AND COLUMN_NAME = 'name'"), CultureInfo.InvariantCulture));
        Assert.Equal(1, bed.LastStats!.ColumnsWidened);
        Assert.Empty(bed.Rejected);
    }

    [Fact]
    public async Task Varchar_rejection_keeps_rows_that_fit_in_bytes_and_rejects_the_rest_with_their_raw_row()
    {
        await using var bed = await VarcharBedAsync(mariaDb);

        await bed.LoadAsync(VarcharSpec, bed.Options("vc") with { Overflow = VarcharOverflowPolicy.Widen }); // the spec's reject wins

        Assert.Equal([[1L, "abc"], [2L, "ab€"]], await bed.RowsAsync("SELECT id, name FROM vc ORDER BY id"));
        var rejected = bed.Rejected.OrderBy(r => r.RawRow, StringComparer.Ordinal).ToList();
        Assert.Equal(["3\tabcdé", "4\t日本語"], rejected.Select(r => r.RawRow));
        Assert.All(rejected, r => Assert.Equal(("vc.csv", "name", Rules.MaxLength, 2), (Path.GetFileName(r.File), r.Column, r.Rule, r.Field)));
        Assert.Equal($"name: 6 UTF-8 bytes, the live column {bed.Database}.vc.name is VARCHAR(5)", rejected[0].Reason);
        Assert.Equal("日本語", rejected[1].Value);
        Assert.Equal(2, bed.LastStats!.RowsRejected);
    }

    [Fact]
    public async Task Rows_the_server_filters_reach_the_rejects_callback_from_the_error_url()
    {
        await using var bed = await VarcharBedAsync(mariaDb);

        // No MySQL access: the sink cannot know the live length, so the server filters (max_filter_ratio allows it).
        await bed.LoadAsync(VarcharSpec, bed.Options("vc") with { MySqlPort = null, MaxFilterRatio = 0.5 });

        Assert.Equal(2, await bed.CountAsync("vc"));
        var rejected = bed.Rejected.OrderBy(r => r.RawRow, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [("3\tabcdé", "String 'abcdé'(length=6) is too long. The max length of 'name' is 5"), ("4\t日本語", "String '日本語'(length=9) is too long. The max length of 'name' is 5")],
            rejected.Select(r => (r.RawRow, r.Reason)));
        Assert.All(rejected, r => Assert.Equal((StreamLoadErrorLog.Rule, "vc.csv"), (r.Rule, Path.GetFileName(r.File))));
        Assert.Equal(2, bed.LastStats!.RowsFiltered);
    }

    [Fact]
    public async Task Rows_the_server_filters_land_in_the_runs_rejects_file_and_counts()
    {
        await using var bed = await VarcharBedAsync(mariaDb);
        var rejectsPath = bed.Dir.File("rejects/vc.parquet");
        var sink = new StarRocksSink(bed.Options("vc") with { MySqlPort = null, MaxFilterRatio = 0.5 });
        LoadResult result;
        await using (sink)
        {
            result = await new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24), RejectsPath = rejectsPath })
                .RunAsync(LocalFileSource.List(bed.Dir.File("vc.csv")), VarcharSpec, sink, default);
        }

        Assert.Equal((4L, 2L, 2L, 0L), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsFiltered));
        Assert.Equal(2, result.RejectsByRule[StreamLoadErrorLog.Rule]);
        var rows = DuckDbQuery.Rows($"SELECT rule, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(rejectsPath)}) ORDER BY raw_row");
        Assert.Equal(
            [[StreamLoadErrorLog.Rule, "String 'abcdé'(length=6) is too long. The max length of 'name' is 5", "3\tabcdé"],
             [StreamLoadErrorLog.Rule, "String '日本語'(length=9) is too long. The max length of 'name' is 5", "4\t日本語"]],
            rows);
    }

    [Fact]
    public async Task Too_many_filtered_rows_fails_the_load_without_retrying_and_still_reports_the_rows()
    {
        await using var bed = await VarcharBedAsync(mariaDb);

        var e = await Assert.ThrowsAsync<StreamLoadException>(() => bed.LoadAsync(VarcharSpec, bed.Options("vc") with { MySqlPort = null }));

        Assert.Contains("load failed: too many filtered rows (rejected rows: http://127.0.0.1:", e.Message, StringComparison.Ordinal);
        Assert.False(e.IsTransient);
        Assert.Equal(0, await bed.CountAsync("vc"));
        Assert.Equal(2, bed.Rejected.Count);
        Assert.Single(bed.Server.Log, l => l.StartsWith("BE PUT", StringComparison.Ordinal)); // not retried
    }

    [Fact]
    public async Task Secrets_never_appear_in_errors_or_descriptions()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        const string secret = "s3cret-Pa55-word";

        var http = await Assert.ThrowsAsync<StreamLoadException>(() => bed.LoadAsync(TenChunkSpec, bed.Options("t10") with { Password = secret, MySqlPort = null }));
        var sql = await Assert.ThrowsAsync<StreamLoadException>(() => bed.LoadAsync(TenChunkSpec, bed.Options("t10") with { Password = secret }));
        var target = Assert.Throws<ArgumentException>(() => StarRocksTarget.Parse($"starrocks://etl:{secret}@fe:8030/db?table=t", "t"));

        Assert.Contains("HTTP 401", http.Message, StringComparison.Ordinal);
        Assert.Equal(401, http.HttpStatus);
        Assert.Contains("Access denied", sql.Message, StringComparison.Ordinal);
        foreach (var text in new[] { http.ToString(), sql.ToString(), target.Message, (bed.Options("t") with { Password = secret }).ToString() })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        Assert.Contains("etl:***@fe", target.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Doris_two_phase_commit_makes_the_file_visible_only_when_it_is_complete_and_reruns_load_nothing()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);
        var options = TenChunks(bed.Options("t10", StreamLoadMode.Transaction)) with { Dialect = StreamLoadDialect.Doris };

        await bed.LoadAsync(TenChunkSpec, options);
        await bed.LoadAsync(TenChunkSpec, options);

        await AssertTenChunkFileOnceAsync(bed);
        Assert.Equal(10, bed.Server.Log.Count(l => l.StartsWith("FE PUT /api/" + bed.Database + "/t10/_stream_load_2pc", StringComparison.Ordinal)));
        Assert.Equal(10, bed.LastStats!.LoadsAlreadyCommitted);
        Assert.Empty(bed.Server.OpenTransactions());
    }

    [Fact]
    public async Task A_backend_override_sends_loads_straight_to_the_be()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);

        await bed.LoadAsync(TenChunkSpec, TenChunks(bed.Options("t10", StreamLoadMode.Label)) with { BackendAddress = $"127.0.0.1:{bed.Server.BePort}" });

        await AssertTenChunkFileOnceAsync(bed);
        Assert.DoesNotContain(bed.Server.Log, l => l.StartsWith("FE PUT", StringComparison.Ordinal));
        Assert.Equal(10, bed.Server.Log.Count(l => l.StartsWith("BE PUT", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Many_small_loads_trip_too_many_versions_the_sink_backs_off_and_fewer_larger_loads_do_not()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb, maxVersions: 3, versionWindow: TimeSpan.FromMilliseconds(300));
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        await bed.CreateTableAsync(TenChunkSpec);

        await bed.LoadAsync(TenChunkSpec, TenChunks(bed.Options("t10", StreamLoadMode.Label)) with { MaxAttempts = 30 });

        await AssertTenChunkFileOnceAsync(bed);
        Assert.True(bed.LastStats!.Retries > 0, "10 loads in a 3-versions window should have been refused at least once");
        await mariaDb.ExecuteAsync("TRUNCATE TABLE t10", bed.Database);
        await bed.LoadAsync(TenChunkSpec, bed.Options("t10", StreamLoadMode.Label) with { Tenant = "acme2" }); // one 1,000-row load
        await AssertTenChunkFileOnceAsync(bed);
        Assert.Equal((1, 0), (bed.LastStats!.Loads, bed.LastStats.Retries));
    }

    /// <summary>Files one after another: a begin refused while the previous file's commit runs is retried after a backoff.</summary>
    [Fact]
    public async Task The_running_transactions_limit_is_waited_out_not_failed()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb, maxRunning: 1);
        WriteTenChunkFile(bed.Dir.File("ten.csv"));
        File.Copy(bed.Dir.File("ten.csv"), bed.Dir.File("ten_copy.csv"));
        await bed.CreateTableAsync(TenChunkSpec);

        await bed.LoadAsync(TenChunkSpec, TenChunks(bed.Options("t10", StreamLoadMode.Transaction)) with { MaxAttempts = 100 }, parallelFiles: 1);

        Assert.Equal(2000, await bed.CountAsync("t10"));
        Assert.Equal(2, bed.LastStats!.FilesCommitted);
        Assert.Empty(bed.Server.OpenTransactions());
    }

    /// <summary>
    /// Six ten-chunk files asked for six at a time, two load slots, a database that refuses a fourth running
    /// transaction, and two attempts per request. Before <c>max_txns</c>, chunks of files waiting to begin held both
    /// load slots while the open transactions needed one, and the run failed on "current running txns". Now the sink
    /// keeps at most three transactions and the pipeline reads two files at once: no begin is ever refused.
    /// </summary>
    [Fact]
    public async Task Files_in_flight_at_a_small_running_transactions_limit_all_commit_and_no_begin_is_refused()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb, maxRunning: 3);
        WriteTenChunkFile(bed.Dir.File("f0.csv"));
        for (var i = 1; i < 6; i++)
        {
            File.Copy(bed.Dir.File("f0.csv"), bed.Dir.File($"f{i}.csv"));
        }

        await bed.CreateTableAsync(TenChunkSpec);
        var options = TenChunks(bed.Options("t10", StreamLoadMode.Transaction)) with { MaxTransactions = 3, MaxAttempts = 2 };

        // A wait that can never end (the old failure turned into a hang) fails the test at the timeout instead.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var result = await bed.LoadAsync(TenChunkSpec, options, parallelFiles: 6, cancellationToken: timeout.Token);

        Assert.Equal((6000L, 6000L), (result.RowsRead, result.RowsLoaded));
        var row = (await bed.RowsAsync("SELECT COUNT(*), COUNT(DISTINCT id), SUM(id), SUM(amount) FROM t10"))[0];
        var amounts = 6 * Enumerable.Range(1, 1000).Sum(i => i + ((i % 100) / 100m));
        Assert.Equal([6000m, 1000m, 6 * 500500m, amounts], row.Select(v => Convert.ToDecimal(v, CultureInfo.InvariantCulture)).ToArray());
        Assert.Equal((6L, 60L, 0L), (bed.LastStats!.FilesCommitted, bed.LastStats.Loads, bed.LastStats.Retries));
        Assert.Equal(6, bed.Server.Log.Count(l => l.StartsWith("FE POST /api/transaction/begin", StringComparison.Ordinal)));
        Assert.Empty(bed.Server.OpenTransactions());
    }

    [Fact]
    public async Task Transaction_mode_reads_one_file_fewer_than_its_transactions_and_label_mode_is_not_limited()
    {
        var options = new StarRocksSinkOptions { Host = "fe", Database = "db", Table = "t", User = "u", MaxTransactions = 5, StateDirectory = Path.GetTempPath() };
        await using var transaction = new StarRocksSink(options);
        await using var label = new StarRocksSink(options with { Mode = StreamLoadMode.Label });
        await using var replace = new StarRocksReplaceSink(options);

        Assert.Equal((4, int.MaxValue, 4), (transaction.MaxFilesInFlight, label.MaxFilesInFlight, replace.MaxFilesInFlight));
    }
}
