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

    [Fact]
    public async Task Drift_ListsMissingExtraAndChangedColumns_NotEveryColumnAfterAnInsertedOne()
    {
        var table = NewTable("listed");
        using var rows = Sequence(0, 3);
        await LoadAsync(table, replace: false, [rows]);
        await server.ExecuteAsync($"ALTER TABLE \"{table}\" DROP COLUMN text, ADD COLUMN legacy integer, ALTER COLUMN flag TYPE smallint USING flag::int", _database);

        await using var sink = CreateSink(table, replace: false);
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(AwkwardSchema, default).AsTask());

        Assert.Equal(
            $"PostgreSQL table \"public\".\"{table}\" does not match the data: " +
            "missing from the table: \"text\" text; extra in the table: \"legacy\" integer; " +
            "column \"flag\" is smallint in the table but boolean in the data. Use mode=replace to recreate it.",
            error.Message);
    }

    [Fact]
    public async Task Drift_OfTheSameColumnsInAnotherOrder_ShowsBothOrders()
    {
        var table = NewTable("order");
        await server.ExecuteAsync($"CREATE TABLE \"{table}\" (b integer, a integer)", _database);
        var ab = new Schema.Builder().Field(new Field("a", Apache.Arrow.Types.Int32Type.Default, true)).Field(new Field("b", Apache.Arrow.Types.Int32Type.Default, true)).Build();

        await using var sink = CreateSink(table, replace: false);
        var error = await Assert.ThrowsAsync<TableDriftException>(() => sink.OpenAsync(ab, default).AsTask());

        Assert.Equal(
            $"PostgreSQL table \"public\".\"{table}\" does not match the data: the columns are in another order: the table has \"b\", \"a\", the data \"a\", \"b\". Use mode=replace to recreate it.",
            error.Message);
    }

    [Fact]
    public async Task A_keyed_table_made_from_staging_has_its_primary_key_named_after_the_table()
    {
        var table = NewTable("keyed");
        using var rows = Sequence(0, 3);
        await using (var sink = CreateMergeSink(table, ["id"]))
        {
            await sink.OpenAsync(AwkwardSchema, default);
            await sink.WriteAsync(new SinkChunk([rows]), default);
            await sink.CompleteAsync(default);
        }

        Assert.Equal(
            [[$"{table}_pkey"]],
            await server.RowsAsync($"SELECT conname::text FROM pg_constraint WHERE conrelid = 'public.\"{table}\"'::regclass AND contype = 'p'", _database));
    }

    [Fact]
    public void A_primary_key_name_is_cut_to_63_bytes_at_a_character_as_postgresql_cuts_it()
    {
        Assert.Equal(new string('é', 29) + "_pkey", PostgresDialect.PrimaryKeyName(new string('é', 31)));
        Assert.Equal("t_pkey", PostgresDialect.PrimaryKeyName("t"));
    }

    [Fact]
    public async Task A_missing_database_is_named_with_the_server_and_what_to_do()
    {
        var connection = server.ConnectionString("no_such_db");
        var where = new Npgsql.NpgsqlConnectionStringBuilder(connection);
        await using var sink = new PostgresSink(new PostgresSinkOptions { ConnectionString = connection, Table = "t" });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => sink.OpenAsync(AwkwardSchema, default).AsTask());

        Assert.Equal(
            $"PostgreSQL database \"no_such_db\" does not exist on {where.Host}:{where.Port}: create it (CREATE DATABASE \"no_such_db\", or etlstream init-db for a tenant) or name an existing one in the target",
            error.Message);
    }
}

/// <summary>The same contract with one load at a time, which appends straight into the table in one transaction.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresDirectSinkContractTests(PostgresServer server) : PostgresSinkContractTests(server)
{
    protected override bool OneLoadAtATime => true;
}
