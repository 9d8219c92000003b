using Apache.Arrow;
using EtlStream.Sinks;
using EtlStream.Sinks.ClickHouse;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks.Contract;

[Collection(ClickHouseCollection.Name)]
public class ClickHouseSinkContractTests(ClickHouseServer server) : SqlSinkContractTests
{
    private string _database = "";

    /// <summary>One load at a time: the run is one INSERT streamed batch by batch.</summary>
    protected virtual bool OneLoadAtATime => false;

    protected override string ExpectedAmountDrift =>
        "column \"amount\" is Nullable(Decimal(18, 2)) in the table but Nullable(Decimal(20, 4)) in the data";

    protected override bool SubSecondTimestamps => false;

    public override async Task InitializeAsync() => _database = await server.CreateDatabaseAsync("contract");

    protected override IBatchSink CreateSink(string table, SqlWriteMode mode, IReadOnlyList<string> key, int concurrency) =>
        new ClickHouseSink(new ClickHouseSinkOptions
        {
            Endpoint = server.Endpoint,
            Database = _database,
            Table = table,
            User = ClickHouseServer.User,
            Password = ClickHouseServer.Password,
            Mode = mode,
            Key = key,
            MaxConcurrency = OneLoadAtATime ? 1 : concurrency,
        });

    protected override string Describe(string table) => $"ClickHouse table `{_database}`.`{table}`";

    protected override async Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema) =>
        (await TableNamesAsync()).Contains(table)
            ? (await server.RowsAsync($"SELECT * FROM `{_database}`.`{table}`")).Select(r => r.Select(f => (object?)CanonicalRows.FromTsv(f)).ToArray()).ToList()
            : null;

    protected override async Task<List<string>> TableNamesAsync() =>
        (await server.RowsAsync($"SELECT name FROM system.tables WHERE database = '{_database}' ORDER BY name")).Select(r => r[0]).ToList();

    [Fact]
    public async Task SubSecondTimestampsAndDatesBefore1970_FailNamingTheValue()
    {
        using var fraction = AwkwardBatch(subSecondTimestamps: true);
        var table = NewTable("range");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => LoadAsync(table, replace: false, [fraction]));

        Assert.Contains(
            "column \"at\" value 2026-11-24 13:45:30.123456 cannot be stored as Nullable(DateTime) (it holds whole seconds from 1970-01-01 00:00:00 to 2105-12-31 23:59:59)",
            error.Message, StringComparison.Ordinal);
        Assert.Null(await ReadRowsAsync(table, AwkwardSchema));
    }

    /// <summary>
    /// A table the user made, in twelve partitions: appends attach the staged partitions into it (its engine and
    /// partitioning unchanged); a Log table, which has no partitions, gets the rows by INSERT … SELECT.
    /// </summary>
    [Theory]
    [InlineData("MergeTree() PARTITION BY id % 12 ORDER BY id", 12)]
    [InlineData("Log", 0)]
    public async Task Appends_keep_the_users_engine_and_partitions(string engine, int partitions)
    {
        var table = NewTable("owned");
        await server.QueryAsync(
            $"CREATE TABLE `{_database}`.`{table}` (id Int32, text Nullable(String), code Nullable(String), i8 Nullable(Int8), i16 Nullable(Int16), " +
            "i64 Nullable(Int64), amount Nullable(Decimal(18, 2)), ratio Nullable(Float64), flag Nullable(UInt8), day Nullable(Date), at Nullable(DateTime)) " +
            $"ENGINE = {engine}");
        using var first = Sequence(1, 400);
        using var second = Sequence(401, 400);

        await LoadAsync(table, replace: false, [first]);
        await LoadAsync(table, replace: false, [second]);

        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([first, second])), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
        var engineNow = await server.QueryAsync($"SELECT engine_full FROM system.tables WHERE database = '{_database}' AND name = '{table}'");
        Assert.StartsWith(engine.Replace("()", "", StringComparison.Ordinal), engineNow.Replace("()", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var parts = await server.QueryAsync($"SELECT uniqExact(partition_id) FROM system.parts WHERE database = '{_database}' AND table = '{table}' AND active");
        Assert.Equal(partitions, int.Parse(parts.Trim(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([table], await TableNamesAsync()); // no staging table left behind
    }

    /// <summary>RowBinary has no names or types: a staging table that is not the data's shape is refused before a byte is sent.</summary>
    [Fact]
    public async Task A_staging_table_of_another_shape_is_refused_before_sending()
    {
        var table = NewTable("shape");
        using var rows = Sequence(1, 10);
        await LoadAsync(table, replace: false, [rows]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var sink = CreateSink(table, replace: false);
            await sink.OpenAsync(AwkwardSchema, default);
            var staging = (await TableNamesAsync()).Single(t => t.EndsWith("_stage", StringComparison.Ordinal));
            await server.QueryAsync($"ALTER TABLE `{_database}`.`{staging}` MODIFY COLUMN i64 Nullable(Int32)");
            await sink.WriteAsync(new SinkChunk([rows]), default);
        });

        Assert.Contains("the staging table has columns (", error.Message, StringComparison.Ordinal);
        Assert.Contains("i64 Nullable(Int32)", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("); nothing was sent.", error.Message, StringComparison.Ordinal);
        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([rows])), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
    }

    [Fact]
    public async Task WrongPassword_FailsOnOpen_WithoutPrintingIt()
    {
        await using var sink = new ClickHouseSink(new ClickHouseSinkOptions
        {
            Endpoint = server.Endpoint, Database = _database, Table = "t", User = ClickHouseServer.User, Password = "not-the-password",
        });

        var error = await Assert.ThrowsAsync<ClickHouseException>(() => sink.OpenAsync(AwkwardSchema, default).AsTask());

        Assert.Contains("answered", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The same contract with one load at a time, where the run is one streamed INSERT.</summary>
[Collection(ClickHouseCollection.Name)]
public sealed class ClickHouseStreamedSinkContractTests(ClickHouseServer server) : ClickHouseSinkContractTests(server)
{
    protected override bool OneLoadAtATime => true;
}
