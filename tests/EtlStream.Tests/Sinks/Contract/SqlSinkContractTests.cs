using Apache.Arrow;
using Apache.Arrow.Types;
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
