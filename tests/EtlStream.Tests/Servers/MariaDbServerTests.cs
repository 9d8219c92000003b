using MySqlConnector;

namespace EtlStream.Tests.Servers;

[Collection(MariaDbCollection.Name)]
public sealed class MariaDbServerTests(MariaDbServer server)
{
    [Fact]
    public async Task The_fixture_serves_a_real_mariadb_on_loopback()
    {
        var version = (string?)await server.ScalarAsync("SELECT VERSION()");
        Assert.Contains("MariaDB", version, StringComparison.Ordinal);

        var db = await server.CreateDatabaseAsync();
        await server.ExecuteAsync("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10))", db);
        await server.ExecuteAsync("INSERT INTO t VALUES (1, 'ü')", db);
        Assert.Equal(1L, Convert.ToInt64(await server.ScalarAsync("SELECT COUNT(*) FROM t", db)));

        var denied = await Assert.ThrowsAsync<MySqlException>(async () =>
        {
            await using var c = new MySqlConnection(server.ConnectionString(db, password: "wrong"));
            await c.OpenAsync();
        });
        Assert.Contains("Access denied", denied.Message, StringComparison.Ordinal);
    }
}
