using EtlStream.Sinks.Postgres;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Servers;
using Npgsql;

namespace EtlStream.Tests.Sinks;

[Collection(PostgresCollection.Name)]
public sealed class PostgresRowSecurityTests(PostgresServer server)
{
    [Fact]
    public async Task TwoLoginRoles_SeeOnlyTheirRegions_AlsoAfterARefresh()
    {
        var db = await server.CreateDatabaseAsync("rls");
        var suffix = Guid.NewGuid().ToString("N")[..8];
        string alice = "alice_" + suffix, bob = "bob_" + suffix;
        await server.ExecuteAsync($"CREATE ROLE {alice} LOGIN PASSWORD 'alice-pw'; CREATE ROLE {bob} LOGIN PASSWORD 'bob-pw'");
        PostgresSink Sink(SqlWriteMode mode) => new(new PostgresSinkOptions { ConnectionString = server.ConnectionString(db), Table = "sales", Mode = mode });
        using var first = RegionRows.Batch(0, 30);
        await RegionRows.LoadAsync(Sink(SqlWriteMode.Append), first);

        await PostgresRowSecurity.CreateAccessTableAsync(server.ConnectionString(db), "public", "access", [alice, bob], default);
        await server.ExecuteAsync(
            $"INSERT INTO access VALUES ('{alice}', 'region', 'North'), ('{bob}', 'region', 'South'), ('{bob}', 'region', 'East')", db);
        await PostgresRowSecurity.EnableAsync(server.ConnectionString(db), "public", "sales", "region", "access", [alice, bob], default);

        Assert.Equal(RegionRows.Ids(first, "North"), await IdsAsync(db, alice, "alice-pw"));
        Assert.Equal(RegionRows.Ids(first, "South", "East"), await IdsAsync(db, bob, "bob-pw"));
        var own = await server.RowsAsync("SELECT user_name, allowed_value FROM access ORDER BY 2", db, alice, "alice-pw");
        Assert.Equal([[alice, "North"]], own);

        // The evening refresh truncates and refills the table: its policy and grants stay.
        using var refreshed = RegionRows.Batch(100, 12);
        await RegionRows.LoadAsync(Sink(SqlWriteMode.Replace), refreshed);

        Assert.Equal(RegionRows.Ids(refreshed, "North"), await IdsAsync(db, alice, "alice-pw"));
        Assert.Equal(RegionRows.Ids(refreshed, "South", "East"), await IdsAsync(db, bob, "bob-pw"));
        var denied = await Assert.ThrowsAsync<PostgresException>(() => server.RowsAsync("INSERT INTO sales VALUES (1, 'North')", db, alice, "alice-pw"));
        Assert.Equal("42501", denied.SqlState); // insufficient_privilege
    }

    private async Task<List<int>> IdsAsync(string db, string user, string password) =>
        (await server.RowsAsync("SELECT id FROM sales ORDER BY id", db, user, password)).Select(r => (int)r[0]!).ToList();
}
