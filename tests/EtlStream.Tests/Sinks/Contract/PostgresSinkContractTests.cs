using Apache.Arrow;
using EtlStream.Sinks;
using EtlStream.Sinks.Postgres;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.Sinks.Contract;

[Collection(PostgresCollection.Name)]
public class PostgresSinkContractTests(PostgresServer server) : SqlSinkContractTests
{
    private string _database = "";

    /// <summary>One bulk load at a time: appends then go straight into the table in one transaction, no staging.</summary>
    protected virtual bool OneLoadAtATime => false;

    protected override string ExpectedAmountDrift => "column \"amount\" is numeric(18,2) in the table but numeric(20,4) in the data";

    public override async Task InitializeAsync() => _database = await server.CreateDatabaseAsync("contract");

    protected override IBatchSink CreateSink(string table, SqlWriteMode mode, IReadOnlyList<string> key, int concurrency) =>
        new PostgresSink(new PostgresSinkOptions
        {
            ConnectionString = server.ConnectionString(_database),
            Table = table,
            Mode = mode,
            Key = key,
            MaxConcurrency = OneLoadAtATime ? 1 : concurrency,
        });

    protected override string Describe(string table) => $"PostgreSQL table \"public\".\"{table}\"";

    protected override async Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema) =>
        (await server.RowsAsync($"SELECT to_regclass('public.\"{table}\"') IS NOT NULL", _database))[0][0] is true
            ? await server.RowsAsync($"SELECT * FROM public.\"{table}\"", _database)
            : null;

    protected override async Task<List<string>> TableNamesAsync() =>
        (await server.RowsAsync("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", _database)).Select(r => (string)r[0]!).ToList();

    [Fact]
    public async Task Drift_ReportNamesTheColumnAndBothTypes()
    {
        var table = NewTable("typed");
        using var rows = Sequence(0, 3);
        await LoadAsync(table, replace: false, [rows]);
        await server.ExecuteAsync($"ALTER TABLE \"{table}\" ALTER COLUMN code TYPE character varying(20), ALTER COLUMN flag TYPE smallint USING flag::int", _database);

        await using var sink = CreateSink(table, replace: false);
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(AwkwardSchema, default).AsTask());

        Assert.Equal(
            $"PostgreSQL table \"public\".\"{table}\" does not match the data: " +
            "column \"code\" is character varying(20) in the table but character varying(16) in the data; " +
            "column \"flag\" is smallint in the table but boolean in the data. Use mode=replace to recreate it.",
            error.Message);
    }
}

/// <summary>The same contract with one load at a time, which appends straight into the table in one transaction.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresDirectSinkContractTests(PostgresServer server) : PostgresSinkContractTests(server)
{
    protected override bool OneLoadAtATime => true;
}
