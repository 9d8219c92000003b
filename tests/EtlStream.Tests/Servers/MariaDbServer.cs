using MySqlConnector;

namespace EtlStream.Tests.Servers;

/// <summary>
/// A private MariaDB (Debian's <c>mariadb-server</c>) on a free loopback port, started once for the tests that
/// share it (<see cref="MariaDbCollection"/>). User <see cref="User"/> may do everything; each test makes its
/// own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class MariaDbServer : IAsyncLifetime
{
    public const string User = "etl";
    public const string Password = "etl-test-pw";
    private ServerProcess? _server;

    public int Port { get; private set; }

    /// <summary>A connection string for <paramref name="database"/> (none: no default database).</summary>
    public string ConnectionString(string? database = null, string user = User, string password = Password) =>
        new MySqlConnectionStringBuilder
        {
            Server = "127.0.0.1",
            Port = (uint)Port,
            UserID = user,
            Password = password,
            Database = database ?? "",
            AllowLoadLocalInfile = true,
            AllowUserVariables = true,
            SslMode = MySqlSslMode.None,
        }.ConnectionString;

    public async Task InitializeAsync()
    {
        const string hint = "apt-get install mariadb-server mariadb-client";
        var mariadbd = ServerProcess.Require(hint, "/usr/sbin/mariadbd", "mariadbd");
        var installDb = ServerProcess.Require(hint, "mariadb-install-db", "/usr/bin/mariadb-install-db");
        var folder = ServerProcess.NewFolder("mariadb");
        var data = Path.Combine(folder, "data");
        var user = Environment.UserName;
        await ServerProcess.RunToEndAsync(installDb,
            ["--no-defaults", $"--datadir={data}", $"--user={user}", "--auth-root-authentication-method=normal", "--skip-test-db"]);

        var init = Path.Combine(folder, "init.sql");
        await File.WriteAllTextAsync(init, $"""
            CREATE USER IF NOT EXISTS '{User}'@'%' IDENTIFIED BY '{Password}';
            GRANT ALL PRIVILEGES ON *.* TO '{User}'@'%' WITH GRANT OPTION;
            FLUSH PRIVILEGES;
            """);

        Port = ServerProcess.FreePort();
        // One server serves every MariaDB-backed test class; their connection pools (and the FE stand-in's upstream
        // connections) stay open until idle-pruned, which went past 200 once the StarRocks contract classes came.
        _server = await ServerProcess.StartAsync("mariadb", mariadbd,
            [
                "--no-defaults", $"--datadir={data}", $"--user={user}", $"--port={Port}", "--bind-address=127.0.0.1",
                $"--socket={Path.Combine(folder, "mariadb.sock")}", $"--pid-file={Path.Combine(folder, "mariadb.pid")}",
                $"--init-file={init}", "--skip-name-resolve", "--local-infile=1", "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--max-connections=1000",
            ],
            folder,
            async () =>
            {
                await using var c = new MySqlConnection(ConnectionString());
                await c.OpenAsync();
                return true;
            });
    }

    /// <summary>A fresh, empty database with a unique name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];
        await ExecuteAsync($"CREATE DATABASE `{name}`");
        return name;
    }

    public async Task ExecuteAsync(string sql, string? database = null)
    {
        await using var c = new MySqlConnection(ConnectionString(database));
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql, string? database = null)
    {
        await using var c = new MySqlConnection(ConnectionString(database));
        await c.OpenAsync();
        await using var cmd = new MySqlCommand(sql, c);
        var value = await cmd.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    /// <summary>Rows of <paramref name="sql"/> as the driver returns them (DBNull as null).</summary>
    public async Task<List<object?[]>> RowsAsync(string sql, string? database = null, string user = User, string password = Password)
    {
        await using var c = new MySqlConnection(ConnectionString(database, user, password));
        return await Support.DbRows.ReadAsync(c, sql);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Test classes in this collection share one MariaDB server.</summary>
[CollectionDefinition(Name)]
public sealed class MariaDbCollection : ICollectionFixture<MariaDbServer>
{
    public const string Name = "MariaDB";
}
