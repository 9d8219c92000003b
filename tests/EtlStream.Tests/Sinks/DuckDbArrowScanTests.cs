using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks;
using EtlStream.Sinks.DuckDb;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

/// <summary>
/// The DuckDB sink's Arrow path (batches scanned in place through a view of the run's transaction) and the memory
/// limit it sets: what a user sees of both.
/// </summary>
public sealed class DuckDbArrowScanTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Db => _dir.File("db/test.duckdb");

    /// <summary>What is in the database's folder besides the database itself (temp files, views' leftovers).</summary>
    private string[] Beside() =>
        [.. Directory.GetFileSystemEntries(Path.GetDirectoryName(Db)!).Select(Path.GetFileName).Where(n => n != "test.duckdb").Order()!];

    private static string[] Objects(string db) =>
        [.. DuckDbQuery.Rows(db, "SELECT table_name || ' ' || table_type FROM information_schema.tables ORDER BY 1").Select(r => (string)r[0]!)];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_run_past_its_memory_limit_spills_beside_the_database_and_leaves_nothing_there_whether_it_commits_or_not(bool commit)
    {
        // 24MB is under what the 1,000,000 keys of a merge take to group (its duplicate-key check), so DuckDB spills.
        var options = new DuckDbSinkOptions { DatabasePath = Db, Table = "facts", Mode = DuckDbWriteMode.Merge, Key = ["id"], MemoryLimit = "24MB" };
        var created = new List<string>();
        Directory.CreateDirectory(Path.GetDirectoryName(Db)!);
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(Db)!) { IncludeSubdirectories = true, EnableRaisingEvents = true };
        watcher.Created += (_, e) => { lock (created) { created.Add(Path.GetRelativePath(Path.GetDirectoryName(Db)!, e.FullPath)); } };
        var batches = new RecordBatch[10];
        for (var i = 0; i < batches.Length; i++)
        {
            batches[i] = TestBatches.Sequence(1 + (i * 100_000), 100_000);
        }

        try
        {
            await using (var sink = new DuckDbSink(options))
            {
                await sink.OpenAsync(TestBatches.AllTypesSchema, default);
                foreach (var batch in batches)
                {
                    await sink.WriteAsync(new SinkChunk([batch]), default);
                }

                if (commit)
                {
                    await sink.CompleteAsync(default);
                }
            }
        }
        finally
        {
            foreach (var batch in batches)
            {
                batch.Dispose();
            }
        }

        await Task.Delay(200); // inotify events arrive after the fact
        lock (created)
        {
            Assert.Contains("test.duckdb.tmp", created); // it did spill, where the user can see it: beside the database
        }

        Assert.Empty(Beside());
        Assert.Equal(commit ? ["facts BASE TABLE"] : [], Objects(Db));
        if (commit)
        {
            Assert.Equal(1_000_000L, DuckDbQuery.Scalar(Db, "SELECT count(*) FROM facts"));
        }
    }

    [Fact]
    public async Task A_row_the_table_refuses_fails_the_run_with_DuckDBs_reason_and_leaves_the_table_and_no_view()
    {
        var schema = new Schema.Builder().Field(new Field("id", Int32Type.Default, nullable: false)).Field(new Field("name", StringType.Default, true)).Build();
        var options = new DuckDbSinkOptions { DatabasePath = Db, Table = "facts" };
        using var good = new RecordBatch(schema, [new Int32Array.Builder().Append(1).Append(2).Build(), new StringArray.Builder().Append("a").Append("b").Build()], 2);
        await using (var first = new DuckDbSink(options))
        {
            await first.OpenAsync(schema, default);
            await first.WriteAsync(new SinkChunk([good]), default);
            await first.CompleteAsync(default);
        }

        // A null in a NOT NULL column can only come from a caller that skipped the transform's checks: DuckDB refuses it.
        using var bad = new RecordBatch(schema, [new Int32Array.Builder().Append(3).AppendNull().Build(), new StringArray.Builder().Append("c").Append("d").Build()], 2);
        await using (var sink = new DuckDbSink(options))
        {
            await sink.OpenAsync(schema, default);
            await sink.WriteAsync(new SinkChunk([good]), default);
            var e = await Assert.ThrowsAnyAsync<Exception>(async () => await sink.WriteAsync(new SinkChunk([bad]), default));
            Assert.StartsWith("Constraint Error: NOT NULL constraint failed: facts.id", e.Message, StringComparison.Ordinal);
        }

        var rows = DuckDbQuery.Rows(Db, "SELECT id, name FROM facts ORDER BY id");
        Assert.Equal(2, rows.Count);
        Assert.Equal([1, "a"], rows[0]);
        Assert.Equal([2, "b"], rows[1]);
        Assert.Equal(["facts BASE TABLE"], Objects(Db));
        Assert.Empty(Beside());
    }

    [Fact]
    public async Task Batches_sliced_and_reused_load_the_same_values_every_time()
    {
        // Arrow's exporter takes over natively allocated buffers; the sink must leave them with the caller, who may
        // load the same batch again (a retry, or here a second run) or read it afterwards.
        using var batch = TestBatches.Sequence(1, 3000);
        var slice = batch.Slice(1000, 1500);
        var options = new DuckDbSinkOptions { DatabasePath = Db, Table = "facts" };
        for (var run = 0; run < 2; run++)
        {
            await using var sink = new DuckDbSink(options);
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([batch, slice]), default);
            await sink.CompleteAsync(default);
        }

        Assert.Equal("row 1", ((StringArray)batch.Column(1)).GetString(0));
        // Per run: ids 1..3000 from the batch, 1001..2500 again from the slice, every name matching its id.
        Assert.Equal([9000L, 3000L, 14_254_500L, 9000L], DuckDbQuery.Rows(Db, "SELECT count(*), count(DISTINCT id), sum(id)::BIGINT, count(*) FILTER (WHERE name = 'row ' || id) FROM facts")[0]);
        Assert.Equal(6000L, DuckDbQuery.Scalar(Db, "SELECT count(*) FROM facts WHERE id BETWEEN 1001 AND 2500"));
    }

    [Fact]
    public async Task A_table_of_300_columns_loads_under_the_default_limit_which_grows_with_the_columns()
    {
        // An append pins a block per column (an 8MB limit failed a 10-column run with "failed to pin block").
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        for (var c = 0; c < 300; c++)
        {
            fields.Add(new Field($"c{c}", StringType.Default, true));
            var builder = new StringArray.Builder();
            for (var r = 0; r < 5000; r++)
            {
                builder.Append($"value {r} of column {c}, long enough to fill a block");
            }

            arrays.Add(builder.Build());
        }

        var schema = new Schema(fields, null);
        using var batch = new RecordBatch(schema, arrays, 5000);
        Assert.Equal("600MiB", DuckDbSinkOptions.MemoryLimitFor(300));
        await using (var sink = new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide" }))
        {
            await sink.OpenAsync(schema, default);
            await sink.WriteAsync(new SinkChunk([batch]), default);
            await sink.CompleteAsync(default);
        }

        Assert.Equal([5000L, 5000L, "value 4999 of column 299, long enough to fill a block"], DuckDbQuery.Rows(Db, "SELECT count(*), count(DISTINCT c299), max_by(c299, CAST(split_part(c299, ' ', 2) AS INTEGER)) FROM wide")[0]);
    }

    [Fact]
    public async Task Explain_states_the_memory_limit_the_sink_sets_on_DuckDB()
    {
        var (code, stdout, stderr) = await CliTests.RunAsync(RepoPaths.Root, "explain", "--tenant", "pidilite", "--job", "morning");
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Contains(
            "    sink sets  DuckDB memory_limit = 128MiB, 2MiB per column past 64 columns (its buffer pool, outside --memory-budget; past it DuckDB spills to datawiz_pidilite.duckdb.tmp beside the database, removed when the run ends)",
            stdout.Split('\n'));
    }
}
