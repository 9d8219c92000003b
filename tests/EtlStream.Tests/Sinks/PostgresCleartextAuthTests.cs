using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using Npgsql;

namespace EtlStream.Tests.Sinks;

/// <summary>A PostgreSQL server that asks for the password in cleartext (pg_hba.conf method <c>password</c>) over a connection without TLS.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCleartextAuthTests(PostgresServer server) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_password_is_not_sent_and_the_run_fails_saying_why()
    {
        var role = $"cleartext_{Guid.NewGuid():N}"[..24];
        const string password = "clear-text-pw-1";
        await server.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD '{password}'");
        var hba = (string)(await server.RowsAsync("SHOW hba_file", "postgres"))[0][0]!;
        var original = await File.ReadAllTextAsync(hba);
        var rule = $"host all {role} 127.0.0.1/32 password\n";
        try
        {
            await File.WriteAllTextAsync(hba, rule + original);
            await server.ExecuteAsync("SELECT pg_reload_conf()");
            await WaitForCleartextAsync(role, password);

            await File.WriteAllTextAsync(_dir.File("in.csv"), "a\n1\n");
            var (code, stdout, stderr) = await CliProcess.RunAsync(_dir.Path,
                new Dictionary<string, string?> { ["PGPASSWORD"] = password, ["ETLSTREAM_DB_PASSWORD"] = null },
                "load", _dir.File("in.csv"), "--to", $"postgres://{role}@127.0.0.1:{server.Port}/postgres?table=t");

            Assert.Equal((1, ""), (code, stdout));
            Assert.Equal(
                $"error: postgres 127.0.0.1:{server.Port}: the server asked for the password in cleartext over an unencrypted connection; it was not sent, as anything on the network could read it. " +
                "Have the server use scram-sha-256 or md5 (pg_hba.conf), or connect with &sslmode=require.\n",
                stderr);
            Assert.Empty(await server.RowsAsync("SELECT 1 FROM pg_tables WHERE tablename = 't'", "postgres"));
        }
        finally
        {
            await File.WriteAllTextAsync(hba, original);
            await server.ExecuteAsync("SELECT pg_reload_conf()");
        }
    }

    /// <summary>
    /// Until the reloaded rule applies: a plain client (no RequireAuth) logs in, and one refusing cleartext does not,
    /// which also proves the refusal below is the method's and not a wrong password's.
    /// </summary>
    private async Task WaitForCleartextAsync(string role, string password)
    {
        var plain = new NpgsqlConnectionStringBuilder(server.ConnectionString("postgres", role, password)) { Pooling = false }.ConnectionString;
        var strict = new NpgsqlConnectionStringBuilder(plain) { RequireAuth = "!Password" }.ConnectionString;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            await using (var ok = new NpgsqlConnection(plain))
            {
                await ok.OpenAsync(deadline.Token);
            }

            try
            {
                await using var refused = new NpgsqlConnection(strict);
                await refused.OpenAsync(deadline.Token);
            }
            catch (NpgsqlException e) when (e.Message.Contains("\"Password\" authentication method is not allowed", StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50, deadline.Token);
        }
    }
}
