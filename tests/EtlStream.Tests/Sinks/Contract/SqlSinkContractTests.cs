using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Sinks;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks.Contract;

/// <summary>
/// What every database sink promises on top of <see cref="SinkContractTests"/>: appends accumulate, a table that
/// drifted from the data is reported before any row is loaded, and a failed run leaves no staging table behind.
/// </summary>
public abstract class SqlSinkContractTests : SinkContractTests
{
    /// <summary>The drift report for <c>amount</c> declared decimal(18,2) in the table and decimal(20,4) in the data.</summary>
    protected abstract string ExpectedAmountDrift { get; }

    /// <summary>Every table name in the test's database or schema.</summary>
    protected abstract Task<List<string>> TableNamesAsync();

    /// <summary>The database's sink for <paramref name="table"/> in <paramref name="mode"/> (a merge by <paramref name="key"/>).</summary>
    protected abstract IBatchSink CreateSink(string table, SqlWriteMode mode, IReadOnlyList<string> key, int concurrency);

    protected sealed override IBatchSink CreateSink(string table, bool replace, int concurrency = 3) =>
        CreateSink(table, replace ? SqlWriteMode.Replace : SqlWriteMode.Append, [], concurrency);

    protected IBatchSink CreateMergeSink(string table, IReadOnlyList<string> key, int concurrency = 3) =>
        CreateSink(table, SqlWriteMode.Merge, key, concurrency);

    /// <summary>How the sink's messages name <paramref name="table"/>: <c>PostgreSQL table "public"."t"</c>.</summary>
    protected abstract string Describe(string table);

    private static readonly Schema KeyedSchema = new Schema.Builder()
        .Field(new Field("id", Int32Type.Default, false))
        .Field(new Field("label", StringType.Default, true))
        .Build();

    private static RecordBatch Keyed(int from, int count, string prefix, params int[] repeat)
    {
        var ids = new Int32Array.Builder();
        var labels = new StringArray.Builder();
        foreach (var id in Enumerable.Range(from, count).Concat(repeat))
        {
            ids.Append(id);
            if (id % 7 == 0)
            {
                labels.AppendNull();
            }
            else
            {
                labels.Append(prefix + id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return new RecordBatch(KeyedSchema, [ids.Build(), labels.Build()], count + repeat.Length);
    }

    private async Task MergeAsync(string table, params RecordBatch[] chunks)
    {
        await using var sink = CreateMergeSink(table, ["id"]);
        await sink.OpenAsync(KeyedSchema, default);
        foreach (var chunk in chunks)
        {
            await sink.WriteAsync(new EtlStream.Sinks.SinkChunk([chunk]), default);
        }

        await sink.CompleteAsync(default);
    }

    [Fact]
    public async Task Replace_OfATableWhoseColumnsDiffer_RecreatesItWithTheDataColumns()
    {
        var table = NewTable("reshaped");
        using var old = Sequence(0, 20);
        await LoadAsync(table, replace: false, [old]);
        using var keyed = Keyed(0, 30, "n");

        await using (var sink = CreateSink(table, replace: true))
        {
            await sink.OpenAsync(KeyedSchema, default);
            await sink.WriteAsync(new EtlStream.Sinks.SinkChunk([keyed]), default);
            await sink.CompleteAsync(default);
        }

        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([keyed])), CanonicalRows.Sorted(await ReadAsync(table, KeyedSchema)));
    }

    [Fact]
    public async Task Merge_ReplacesTheRowsWhoseKeyTheRunBrings_AndAddsTheRest()
    {
        var table = NewTable("merged");
        using var a1 = Keyed(0, 600, "a");
        using var a2 = Keyed(600, 400, "a");
        using var b1 = Keyed(500, 500, "b");
        using var b2 = Keyed(1000, 500, "b");

        await MergeAsync(table, a1, a2); // a missing table: created with the key
        await MergeAsync(table, b1, b2); // keys 500..999 replaced, 1000..1499 added

        using var kept = Keyed(0, 500, "a");
        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([kept, b1, b2])), CanonicalRows.Sorted(await ReadAsync(table, KeyedSchema)));
    }

    [Fact]
    public async Task Merge_RefusesARunHoldingAKeyTwice_NamingIt_AndPublishesNothing()
    {
        var table = NewTable("dupkey");
        using var first = Keyed(0, 50, "a");
        await MergeAsync(table, first);
        using var part1 = Keyed(40, 30, "b");
        using var part2 = Keyed(70, 5, "b", 41); // 41 again, in another chunk

        var error = await Assert.ThrowsAsync<DuplicateKeyException>(() => MergeAsync(table, part1, part2));

        Assert.Equal(
            $"{Describe(table)}: the run's rows hold key (id) = ('41') 2 times; a table keyed by (id) takes one row per key, so nothing was published.",
            error.Message);
        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([first])), CanonicalRows.Sorted(await ReadAsync(table, KeyedSchema)));
        Assert.Equal([table], await TableNamesAsync());
    }

    [Fact]
    public async Task Append_AccumulatesAcrossRuns()
    {
        var table = NewTable("appended");
        using var first = Sequence(0, 1200);
        using var second = Sequence(1200, 34);

        await LoadAsync(table, replace: false, [first]);
        await LoadAsync(table, replace: false, [second]);

        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([first, second])), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
    }

    [Fact]
    public async Task Drift_IsReportedBeforeAnyRowIsLoaded()
    {
        var table = NewTable("drift");
        using var rows = Sequence(0, 10);
        await LoadAsync(table, replace: false, [rows]);
        var changed = new Schema.Builder();
        foreach (var field in AwkwardSchema.FieldsList)
        {
            changed.Field(field.Name == "amount" ? new Field("amount", new Decimal128Type(20, 4), true) : field);
        }

        await using var sink = CreateSink(table, replace: false);
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(changed.Build(), default).AsTask());

        Assert.Contains(ExpectedAmountDrift, error.Message, StringComparison.Ordinal);
        Assert.EndsWith("Use mode=replace to recreate it.", error.Message, StringComparison.Ordinal);
        Assert.Equal(10, (await ReadAsync(table, AwkwardSchema)).Count);
    }

    [Fact]
    public async Task FailedRun_LeavesNoStagingTable_AndCreatesNoTable()
    {
        var existing = NewTable("kept");
        var fresh = NewTable("never");
        using var rows = Sequence(0, 100);
        await LoadAsync(existing, replace: false, [rows]);

        foreach (var (table, replace) in new[] { (existing, true), (existing, false), (fresh, false) })
        {
            await using var sink = CreateSink(table, replace);
            await sink.OpenAsync(AwkwardSchema, default);
            await sink.WriteAsync(new EtlStream.Sinks.SinkChunk([rows]), default);
        }

        Assert.Equal([existing], await TableNamesAsync());
        Assert.Null(await ReadRowsAsync(fresh, AwkwardSchema));
    }
}
