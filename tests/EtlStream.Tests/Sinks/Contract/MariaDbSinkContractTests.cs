using Apache.Arrow;
using EtlStream.Sinks;
using EtlStream.Sinks.MySql;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.Sinks.Contract;

[Collection(MariaDbCollection.Name)]
public class MariaDbSinkContractTests(MariaDbServer server) : SqlSinkContractTests
{
    private string _database = "";

    /// <summary>One bulk load at a time: appends then go straight into the table in one transaction, no staging.</summary>
    protected virtual bool OneLoadAtATime => false;

    protected override string ExpectedAmountDrift => "column \"amount\" is decimal(18,2) in the table but decimal(20,4) in the data";

    public override async Task InitializeAsync() => _database = await server.CreateDatabaseAsync("contract");

    protected override IBatchSink CreateSink(string table, SqlWriteMode mode, IReadOnlyList<string> key, int concurrency) =>
        new MySqlSink(new MySqlSinkOptions
        {
            ConnectionString = server.ConnectionString(_database),
            Table = table,
            Mode = mode,
            Key = key,
            MaxConcurrency = OneLoadAtATime ? 1 : concurrency,
        });

    protected override string Describe(string table) => $"MySQL table `{_database}`.`{table}`";

    protected override async Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema) =>
        (await TableNamesAsync()).Contains(table) ? await server.RowsAsync($"SELECT * FROM `{table}`", _database) : null;

    protected override async Task<List<string>> TableNamesAsync() =>
        (await server.RowsAsync($"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{_database}' ORDER BY 1")).Select(r => (string)r[0]!).ToList();

    [Fact]
    public async Task TooLongValue_FailsTheRunInsteadOfBeingCut()
    {
        var table = NewTable("strict");
        var schema = new Schema.Builder().Field(new Field("code", Apache.Arrow.Types.StringType.Default, true, [new(EtlStream.Tables.ArrowTypes.MaxLengthKey, "4")])).Build();
        using var ok = new RecordBatch(schema, [new StringArray.Builder().Append("abcd").Build()], 1);
        await LoadAsync(table, replace: false, [ok], schema);
        using var tooLong = new RecordBatch(schema, [new StringArray.Builder().Append("abcdef").Build()], 1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => LoadAsync(table, replace: false, [tooLong], schema));

        Assert.Contains("LOAD DATA reported Warning 1265: Data truncated for column 'code' at row 1", error.Message, StringComparison.Ordinal);
        Assert.Equal([["abcd"]], await server.RowsAsync($"SELECT * FROM `{table}`", _database));
    }
}

/// <summary>The same contract with one load at a time, which appends straight into the table in one transaction.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class MariaDbDirectSinkContractTests(MariaDbServer server) : MariaDbSinkContractTests(server)
{
    protected override bool OneLoadAtATime => true;
}
