using Npgsql;

namespace EtlStream.Tests.Servers;

/// <summary>
/// A private PostgreSQL (Debian's <c>postgresql</c>) on a free loopback port, started once for the tests that share
/// it (<see cref="PostgresCollection"/>). It runs as the <c>postgres</c> user when the tests run as root (PostgreSQL
/// refuses root), with its socket inside its own folder. Superuser <see cref="User"/> logs in with a password over
/// TCP (scram-sha-256); each test makes its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string User = "etl";
    public const string Password = "etl-test-pw";
    private const string OsUser = "postgres";
    private ServerProcess? _server;

    public int Port { get; private set; }

    public string ConnectionString(string database = "postgres", string user = User, string password = Password) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = user,
            Password = password,
            Database = database,
            Pooling = true,
        }.ConnectionString;

    public async Task InitializeAsync()
    {
        const string hint = "apt-get install postgresql";
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "postgres")))
            : null;
        var postgres = ServerProcess.Require(hint, bin is null ? "/usr/lib/postgresql/15/bin/postgres" : Path.Combine(bin, "postgres"));
        var initDb = ServerProcess.Require(hint, Path.Combine(Path.GetDirectoryName(postgres)!, "initdb"));
        var folder = ServerProcess.NewFolder("postgres");
        var data = Path.Combine(folder, "data");
        var pwFile = Path.Combine(folder, "pw");
        await File.WriteAllTextAsync(pwFile, Password);
        var runAs = Environment.UserName == "root" ? OsUser : null;
        if (runAs is not null)
        {
            await ServerProcess.RunToEndAsync("chown", ["-R", $"{OsUser}:{OsUser}", folder]);
        }

        await ServerProcess.RunToEndAsync(initDb,
            ["-D", data, "-U", User, $"--pwfile={pwFile}", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            runAs);

        Port = ServerProcess.FreePort();
        _server = await ServerProcess.StartAsync("postgres", postgres,
            [
                "-D", data, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-k", folder,
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=100", "-c", "shared_buffers=128MB",
            ],
            folder,
            async () =>
            {
                await using var c = new NpgsqlConnection(ConnectionString());
                await c.OpenAsync();
                return true;
            },
            runAs);
    }

    /// <summary>A fresh, empty database with a unique name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];
        await ExecuteAsync($"CREATE DATABASE \"{name}\"");
        return name;
    }

    public async Task ExecuteAsync(string sql, string database = "postgres", string user = User, string password = Password)
    {
        await using var c = new NpgsqlConnection(ConnectionString(database, user, password));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    public async Task<List<object?[]>> RowsAsync(string sql, string database, string user = User, string password = Password)
    {
        await using var c = new NpgsqlConnection(ConnectionString(database, user, password));
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

/// <summary>Test classes in this collection share one PostgreSQL server.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}
