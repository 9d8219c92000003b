using EtlStream.Sinks.MySql;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Servers;
using MySqlConnector;

namespace EtlStream.Tests.Sinks;

[Collection(MariaDbCollection.Name)]
public sealed class MySqlSecureViewsTests(MariaDbServer server)
{
    [Fact]
    public async Task TwoUsers_SeeOnlyTheirRegionsThroughTheView_NeverTheTable_AlsoAfterARefresh()
    {
        var db = await server.CreateDatabaseAsync("rls");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string alice = "alice_" + suffix, bob = "bob_" + suffix;
        await server.ExecuteAsync($"CREATE USER '{alice}'@'%' IDENTIFIED BY 'alice-pw'; CREATE USER '{bob}'@'%' IDENTIFIED BY 'bob-pw'");
        MySqlSink Sink(SqlWriteMode mode) => new(new MySqlSinkOptions { ConnectionString = server.ConnectionString(db), Table = "sales", Mode = mode });
        using var first = RegionRows.Batch(0, 30);
        await RegionRows.LoadAsync(Sink(SqlWriteMode.Append), first);

        await MySqlSecureViews.CreateAccessTableAsync(server.ConnectionString(db), "access", default);
        await server.ExecuteAsync($"INSERT INTO access VALUES ('{alice}', 'region', 'North'), ('{bob}', 'region', 'South'), ('{bob}', 'region', 'East')", db);
        await MySqlSecureViews.CreateViewAsync(server.ConnectionString(db), "access", "sales", "sales_secure", "region", [alice, bob], default);

        Assert.Equal(RegionRows.Ids(first, "North"), await IdsAsync(db, alice, "alice-pw"));
        Assert.Equal(RegionRows.Ids(first, "South", "East"), await IdsAsync(db, bob, "bob-pw"));
        var denied = await Assert.ThrowsAsync<MySqlException>(() => server.RowsAsync("SELECT id FROM sales", db, alice, "alice-pw"));
        Assert.Contains("SELECT command denied to user", denied.Message, StringComparison.Ordinal);

        // The evening refresh swaps tables by RENAME: the view names the table, so it reads the new content.
        using var refreshed = RegionRows.Batch(100, 12);
        await RegionRows.LoadAsync(Sink(SqlWriteMode.Replace), refreshed);

        Assert.Equal(RegionRows.Ids(refreshed, "North"), await IdsAsync(db, alice, "alice-pw"));
        Assert.Equal(RegionRows.Ids(refreshed, "South", "East"), await IdsAsync(db, bob, "bob-pw"));
    }

    private async Task<List<int>> IdsAsync(string db, string user, string password) =>
        (await server.RowsAsync("SELECT id FROM sales_secure ORDER BY id", db, user, password)).Select(r => (int)r[0]!).ToList();
}
