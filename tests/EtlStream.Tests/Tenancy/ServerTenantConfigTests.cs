using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Tenancy;

/// <summary>tenant.yaml for database-server sinks, read without a server.</summary>
[Collection(EtlStream.Tests.Sinks.SinkRegistryCollection.Name)] // its unknown-kind error lists the registry's kinds
public sealed class ServerTenantConfigTests : IDisposable
{
    private const string SecretName = "ETLSTREAM_TEST_SERVER_CONFIG_PW";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Configs(string sink, string database = "datawiz_acme")
    {
        Environment.SetEnvironmentVariable(SecretName, "s3cret-Value");
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", "dealers.yaml"), Path.Combine(root, "schemas", "dealers.yaml"), overwrite: true);
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: {{database}}
            source: { kind: local, path: {{_dir.File("in")}} }
            sink: {{sink}}
            tables:
              dealers: { schema: dealers, files: "dealers_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: d, tables: [dealers], mode: merge }
            """);
        return root;
    }

    [Theory]
    [InlineData("mysql", "mysql://loader@db:3306/datawiz_acme", "mysql")]
    [InlineData("mariadb", "mysql://loader@db/datawiz_acme", "mysql")]
    [InlineData("clickhouse", "clickhouse://loader@db:8123/datawiz_acme", "clickhouse")]
    [InlineData("postgres", "postgres://loader@db/datawiz_acme?schema=sales", "postgres")]
    public void Server_kinds_read_with_the_tenants_password_and_mariadb_is_mysql(string kind, string target, string read)
    {
        var tenant = TenantConfigReader.Read(Configs($$"""{ kind: {{kind}}, path: "{{target}}", password: "${{{SecretName}}}" }"""), "acme");

        Assert.Equal(read, tenant.Sink.Kind);
        Assert.True(tenant.Sink.IsServer && tenant.Sink.HealsFromTarget);
        Assert.Equal("datawiz_acme", ((EtlStream.Sinks.Sql.ServerSinkProvider)tenant.Sink.Provider).DatabaseOf(tenant.Sink));
        Assert.Equal($"{read}:datawiz_acme/dealers", TenantJobRunner.TargetOf(tenant, tenant.Tables["dealers"]));
        Assert.DoesNotContain("s3cret-Value", tenant.Sink.ToString(), StringComparison.Ordinal);
        var sink = TenantJobRunner.CreateSink(tenant, tenant.Tables["dealers"], StepMode.Merge);
        Assert.IsAssignableFrom<EtlStream.Sinks.Sql.SqlStagedSink>(sink);
    }

    [Fact]
    public void A_target_naming_another_database_a_password_in_the_target_and_an_unknown_kind_are_errors()
    {
        var file = Path.Combine(_dir.File("configs"), "tenants", "acme", "tenant.yaml");
        var other = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs("""{ kind: mysql, path: "mysql://loader@db/datawiz_other" }"""), "acme"));
        Assert.Equal([$"{file}: sink.path: the target's database 'datawiz_other' is not the tenant's database 'datawiz_acme'"], other.Errors);

        var inline = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs("""{ kind: clickhouse, path: "clickhouse://loader:hunter2@db/datawiz_acme" }"""), "acme"));
        var error = Assert.Single(inline.Errors);
        Assert.StartsWith($"{file}: sink.path: Invalid target 'clickhouse://loader:***@db/datawiz_acme': a password does not belong in the target", error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);

        var unknown = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs("""{ kind: oracle, path: "x" }"""), "acme"));
        Assert.Equal([$"{file}: sink.kind: 'oracle' is not supported yet (duckdb, starrocks, doris, postgres, mysql, mariadb, clickhouse, parquet)"], unknown.Errors);
    }

    [Theory]
    [InlineData("postgres://loader@db/datawiz_acme", "require", Npgsql.SslMode.Require)]
    [InlineData("postgres://loader@db/datawiz_acme?schema=sales", "verify-full", Npgsql.SslMode.VerifyFull)]
    [InlineData("postgres://loader@db/datawiz_acme", "Verify-CA", Npgsql.SslMode.VerifyCA)]
    public void A_postgres_sink_takes_sslmode_and_connects_with_it(string target, string sslmode, Npgsql.SslMode expected)
    {
        var tenant = TenantConfigReader.Read(Configs($$"""{ kind: postgres, path: "{{target}}", sslmode: {{sslmode}} }"""), "acme");

        var options = new EtlStream.Sinks.Postgres.PostgresSinkProvider().Options(tenant, tenant.Tables["dealers"]);
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString);
        Assert.Equal(expected, connection.SslMode);
        Assert.Null(connection.RequireAuth); // encrypted: the cleartext-password refusal is not needed
        Assert.Equal(target.Contains("schema=sales", StringComparison.Ordinal) ? "sales" : "public", options.Schema);
    }

    [Theory]
    [InlineData("""{ kind: postgres, path: "postgres://loader@db/datawiz_acme", sslmode: prefer }""", "sink.sslmode: unknown sslmode 'prefer' (expected require, verify-ca or verify-full)")]
    [InlineData("""{ kind: postgres, path: "postgres://loader@db/datawiz_acme?sslmode=require", sslmode: require }""", "sink.sslmode: sink.path sets sslmode= too: give it in one place")]
    [InlineData("""{ kind: mysql, path: "mysql://loader@db/datawiz_acme", sslmode: require }""", "sink.sslmode: only a postgres sink takes sslmode (this sink is mysql)")]
    public void A_bad_sslmode_is_an_error_naming_the_setting(string sink, string expected)
    {
        var file = Path.Combine(_dir.File("configs"), "tenants", "acme", "tenant.yaml");
        var e = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs(sink), "acme"));
        Assert.Equal([$"{file}: {expected}"], e.Errors);
    }
}
