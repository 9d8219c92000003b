using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace EtlStream.Tests.Servers;

/// <summary>
/// A private ClickHouse (Debian's <c>clickhouse-server</c>, 18.16) on free loopback ports, started once for the
/// tests that share it (<see cref="ClickHouseCollection"/>), with a generated config.xml/users.xml keeping its data,
/// temp files and logs in its own folder and its time zone at UTC. User <see cref="User"/> has a password; each test
/// makes its own database with <see cref="CreateDatabaseAsync"/>.
/// </summary>
public sealed class ClickHouseServer : IAsyncLifetime
{
    public const string User = "etl";
    public const string Password = "etl-test-pw";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(5) };
    private ServerProcess? _server;

    public int HttpPort { get; private set; }

    public int TcpPort { get; private set; }

    public Uri Endpoint => new($"http://127.0.0.1:{HttpPort}/");

    public async Task InitializeAsync()
    {
        var server = ServerProcess.Require("apt-get install clickhouse-server clickhouse-client", "/usr/sbin/clickhouse-server", "clickhouse-server");
        var folder = ServerProcess.NewFolder("clickhouse");
        HttpPort = ServerProcess.FreePort();
        TcpPort = ServerProcess.FreePort();
        var config = Path.Combine(folder, "config.xml");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            <?xml version="1.0"?>
            <yandex>
              <logger><level>warning</level><console>1</console></logger>
              <http_port>{HttpPort}</http_port>
              <tcp_port>{TcpPort}</tcp_port>
              <listen_host>127.0.0.1</listen_host>
              <path>{folder}/data/</path>
              <tmp_path>{folder}/tmp/</tmp_path>
              <user_files_path>{folder}/user_files/</user_files_path>
              <format_schema_path>{folder}/format_schemas/</format_schema_path>
              <users_config>{folder}/users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <timezone>UTC</timezone>
              <mark_cache_size>104857600</mark_cache_size>
              <uncompressed_cache_size>104857600</uncompressed_cache_size>
              <mlock_executable>false</mlock_executable>
              <max_concurrent_queries>100</max_concurrent_queries>
            </yandex>
            """));
        await File.WriteAllTextAsync(Path.Combine(folder, "users.xml"), $"""
            <?xml version="1.0"?>
            <yandex>
              <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
              <users>
                <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
                <{User}><password>{Password}</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></{User}>
              </users>
              <quotas><default></default></quotas>
            </yandex>
            """);

        _http.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        _server = await ServerProcess.StartAsync("clickhouse", server, [$"--config-file={config}"], folder,
            async () => (await QueryAsync("SELECT 1")).Trim() == "1");
    }

    /// <summary>A fresh, empty database with a unique name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];
        await QueryAsync($"CREATE DATABASE `{name}`");
        return name;
    }

    /// <summary>Runs a statement over HTTP (in <paramref name="database"/>, if given) and returns its output text; a refusal fails with ClickHouse's message.</summary>
    public async Task<string> QueryAsync(string sql, string? database = null)
    {
        var url = database is null ? Endpoint : new Uri(Endpoint, "?database=" + Uri.EscapeDataString(database));
        using var response = await _http.PostAsync(url, new StringContent(sql, Encoding.UTF8));
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? text : throw new InvalidOperationException($"ClickHouse: {text}");
    }

    /// <summary>Rows of a query as TabSeparated fields (escapes left as ClickHouse writes them).</summary>
    public async Task<List<string[]>> RowsAsync(string sql, string? database = null) =>
        (await QueryAsync(sql + " FORMAT TabSeparated", database)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Test classes in this collection share one ClickHouse server.</summary>
[CollectionDefinition(Name)]
public sealed class ClickHouseCollection : ICollectionFixture<ClickHouseServer>
{
    public const string Name = "ClickHouse";
}
