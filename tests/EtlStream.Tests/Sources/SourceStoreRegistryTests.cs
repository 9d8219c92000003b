using System.Collections.Concurrent;
using System.Text;
using EtlStream.Cli.Commands;
using EtlStream.Pipeline;
using EtlStream.Sources;
using EtlStream.Sources.Azure;
using EtlStream.Sources.Local;
using EtlStream.Sources.S3;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Tests.Sources;

/// <summary>
/// Source stores are found by kind and URL scheme in <see cref="SourceStoreRegistry"/>: every kind resolves, an
/// unknown one is refused naming the known ones, explain and plans show each kind's source as its provider describes
/// it, and a store known only to the registry feeds a <c>load</c> and a tenant job.
/// </summary>
public sealed class SourceStoreRegistryTests : IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 24);
    private const string Dealers = "Dealer_Code,Dealer_Name,Territory,Region,Active,Onboarded_On\nD1,One,T1,North,Y,2026-01-02\nD2,Two,T2,South,N,2026-02-03\nD3,Three,T1,North,Y,2026-03-04\n";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Configs(string source) =>
        DealersTenant.Write(_dir.File($"configs-{Guid.NewGuid():N}"), source, $"{{ kind: duckdb, path: {_dir.File("w.duckdb")} }}");

    [Theory]
    [InlineData("local", typeof(LocalFolderStoreProvider), null)]
    [InlineData("azure", typeof(AzureBlobStoreProvider), "az://<container>/<prefix or glob>")]
    [InlineData("s3", typeof(S3ObjectStoreProvider), "s3://<bucket>/<prefix or glob>")]
    public void Every_kind_resolves_to_its_provider_and_its_url_scheme_to_the_same(string kind, Type type, string? inputForm)
    {
        var provider = SourceStoreRegistry.ForKind(kind);

        Assert.IsType(type, provider);
        Assert.Equal(kind, provider!.Kind);
        Assert.Same(provider, SourceStoreRegistry.Get(kind));
        Assert.Equal(inputForm, provider.InputForm);
        if (provider.Scheme is { } scheme)
        {
            Assert.Same(provider, SourceStoreRegistry.ForUrl($"{scheme.ToUpperInvariant()}://root/day/*.csv"));
        }

        Assert.Equal(["local", "azure", "s3"], SourceStoreRegistry.Kinds);
        Assert.Equal(["az://<container>/<prefix or glob>", "s3://<bucket>/<prefix or glob>"], SourceStoreRegistry.InputForms);
        Assert.Null(SourceStoreRegistry.ForUrl("data/az://x"));
        Assert.Null(SourceStoreRegistry.ForUrl("gs://bucket/x.csv"));
    }

    [Fact]
    public void An_unknown_kind_is_refused_naming_every_known_one()
    {
        var root = Configs("{ kind: ftp, path: drops }");
        var file = Path.Combine(root, "tenants", "acme", "tenant.yaml");

        var read = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(root, "acme"));
        var get = Assert.Throws<ConfigException>(() => SourceStoreRegistry.Get("ftp"));

        Assert.Equal([$"{file}: source.kind: 'ftp' is not supported (local, azure, s3)"], read.Errors);
        Assert.Equal(["source.kind: 'ftp' is not supported (local, azure, s3)"], get.Errors);
        File.WriteAllText(file, File.ReadAllText(file).Replace("source: { kind: ftp, path: drops }\n", "", StringComparison.Ordinal));
        var missing = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(root, "acme"));
        Assert.Equal(
            [$"{file}: source: required: {{ kind: local, path: <folder> }}, {{ kind: azure, container: <name>, ... }} or {{ kind: s3, bucket: <name>, ... }}"],
            missing.Errors);
    }

    public static TheoryData<string, string, string, string?> Sources => new()
    {
        { "{ kind: local, path: in }", "local", "{in}/", null },
        { "{ kind: azure, container: drops, path: day, account_url: \"https://acct.blob.core.windows.net/\", sas_token: \"sv=1&sig=SECRET-sig-7f3a\" }", "azure", "https://acct.blob.core.windows.net/drops/day/", "sv=1&sig=SECRET-sig-7f3a" },
        { "{ kind: azure, container: drops, connection_string: \"AccountName=acct;AccountKey=c2VjcmV0LWtleS03ZjNh\" }", "azure", "https://acct.blob.core.windows.net/drops/", "AccountName=acct;AccountKey=c2VjcmV0LWtleS03ZjNh" },
        { "{ kind: s3, bucket: b, path: day/, endpoint: \"http://127.0.0.1:9000/\", access_key: AK, secret_key: SECRET-key-7f3a }", "s3", "http://127.0.0.1:9000/b/day/", "SECRET-key-7f3a" },
        { "{ kind: s3, bucket: b }", "s3", "s3://b/", null },
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task A_tenant_with_each_store_kind_is_explained_from_its_provider_and_no_secret_shows(string source, string kind, string root, string? secret)
    {
        var tenant = TenantConfigReader.Read(Configs(source), "acme");

        var lines = (await TenantCommands.ExplainAsync(tenant, tenant.Jobs["morning"], new LoadOptions())).Split('\n');

        Assert.Equal(kind, tenant.Source.Kind);
        Assert.Equal("explain: tenant acme (acme), job morning, into duckdb database datawiz_acme", lines[0]);
        Assert.Equal($"  d / dealers (append) <- {root.Replace("{in}", Path.Combine(_dir.Path, "in"), StringComparison.Ordinal)}dealers_{{date}}.csv", lines[2]);
        if (secret is not null)
        {
            // Written in tenant.yaml without ${NAME}, a secret setting is still redacted from whatever echoes it.
            Assert.DoesNotContain(secret, string.Join('\n', lines), StringComparison.Ordinal);
            Assert.Equal("echo: *** (source.secret)", Security.Redaction.Redact($"echo: {secret} (source.secret)"));
        }
    }

    [Fact]
    public async Task A_store_known_only_to_the_registry_feeds_a_load_and_a_tenant_job()
    {
        var store = new MemoryStoreProvider();
        store.Put("s1", $"day/dealers_{Day:yyyy-MM-dd}.csv", Dealers);
        store.Put("s1", "day/dealers_2026-11-23.csv", "Dealer_Code,Dealer_Name,Territory,Region,Active,Onboarded_On\nD9,Nine,T9,East,Y,2026-01-02\n");
        var configs = Configs("{ kind: memory, shelf: s1, path: day }");
        var file = Path.Combine(configs, "tenants", "acme", "tenant.yaml");
        var unknown = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(configs, "acme"));
        Assert.Equal([$"{file}: source.shelf: unknown key (expected one of: kind, path, container, connection_string, account_url, sas_token, account_key, bucket, endpoint, region, path_style, access_key, secret_key)", $"{file}: source.kind: 'memory' is not supported (local, azure, s3)"], unknown.Errors);

        using (SourceStoreRegistry.Register(store))
        {
            // `etlstream load memory://s1/day/dealers_*.csv --to duckdb:…`, in-process.
            var db = _dir.File("adhoc.duckdb");
            var (result, table, _) = await LoadCommand.LoadAsync("memory://s1/day/dealers_*.csv", null, $"duckdb:{db}?table=dealers", new LoadOptions(), null, CancellationToken.None);
            Assert.Equal((4L, "dealers"), (result.RowsLoaded, table));
            Assert.Equal(["D1", "D2", "D3", "D9"], DuckDbQuery.Rows(db, "SELECT Dealer_Code FROM dealers ORDER BY 1").Select(r => (string?)r[0]));

            // A tenant names it in tenant.yaml: its settings, its plan and explain lines and the job's files all come from it.
            var tenant = TenantConfigReader.Read(configs, "acme");
            Assert.Equal("memory://s1/day/", tenant.Source.Location);
            var plan = await JobPlan.BuildAsync(tenant, "morning", Day, CancellationToken.None, lateFiles: true);
            Assert.Contains("  from memory memory://s1/day/\n", plan.Describe(), StringComparison.Ordinal);
            Assert.Equal(["memory://s1/day/dealers_2026-11-23.csv", "memory://s1/day/dealers_2026-11-24.csv"], Assert.Single(plan.Loads).Files.Select(f => f.Name));
            await using var ledger = await LoadLedger.OpenAsync(_dir.File("state.db"), CancellationToken.None);
            var run = await TenantJobRunner.RunAsync(plan, new LoadOptions { RejectsPath = _dir.File("rejects") }, NullLogger.Instance, CancellationToken.None,
                ledger: new LedgerRun(ledger, await ledger.StartRunAsync("acme", "morning", Day, CancellationToken.None)));

            // A first run has no watermark to look back from: the day before's file is listed, not loaded.
            Assert.Equal(3, Assert.Single(run).Result.RowsLoaded);
            Assert.Equal(["D1", "D2", "D3"], DuckDbQuery.Rows(_dir.File("w.duckdb"), "SELECT dealer_code FROM dealers ORDER BY 1").Select(r => (string?)r[0]));
            Assert.Equal(["memory://s1/day/dealers_2026-11-24.csv"], (await ledger.CommittedAsync("acme", "duckdb:datawiz_acme/dealers", CancellationToken.None)).Keys);

            // Its own validation, with the path of the setting.
            File.WriteAllText(file, File.ReadAllText(file).Replace("shelf: s1, ", "", StringComparison.Ordinal));
            Assert.Equal([$"{file}: source.shelf: required"], Assert.Throws<ConfigException>(() => TenantConfigReader.Read(configs, "acme")).Errors);
            Assert.Throws<ArgumentException>(() => SourceStoreRegistry.Register(new MemoryStoreProvider()));
        }

        Assert.Null(SourceStoreRegistry.ForKind("memory"));
        Assert.Null(SourceStoreRegistry.ForUrl("memory://s1/day/"));
    }

    /// <summary>Shelves of files in memory, known to nothing but the registry: <c>memory://&lt;shelf&gt;/&lt;name&gt;</c>.</summary>
    private sealed class MemoryStoreProvider : SourceStoreProvider
    {
        private readonly ConcurrentDictionary<(string Shelf, string Name), byte[]> _files = new();

        public override string Kind => "memory";

        public override string Scheme => "memory";

        public override string UrlRoot => "shelf";

        public override string ConfigForm => "{ kind: memory, shelf: <name> }";

        public override IReadOnlyList<string> Settings => ["shelf"];

        public void Put(string shelf, string name, string text) => _files[(shelf, name)] = Encoding.UTF8.GetBytes(text);

        public override IReadOnlyList<(string Path, string Message)> Validate(SourceConfig source) =>
            Setting(source.Settings, "shelf") is null ? [("source.shelf", "required")] : [];

        public override ISourceStore Create(SourceConfig source, RangedReadOptions? reads = null) => new Shelf(this, source.Settings["shelf"], Folder(source.Path));

        public override string Location(SourceConfig source) => $"memory://{source.Settings["shelf"]}/{Folder(source.Path)}";

        protected override ISourceStore CreateFromUrl(string url, string root, Func<string, string?> environment) => new Shelf(this, root, "");

        private sealed class Shelf(MemoryStoreProvider provider, string shelf, string prefix) : ISourceStore
        {
            public string Location => $"memory://{shelf}/{prefix}";

            public Task<IReadOnlyList<SourceFile>> ListAsync(string pattern, DateRange? dates, CancellationToken cancellationToken)
            {
                var selector = ObjectNamePattern.Parse(prefix + pattern);
                IReadOnlyList<SourceFile> files = [.. provider._files
                    .Where(f => f.Key.Shelf == shelf && selector.IsMatch(f.Key.Name, dates))
                    .OrderBy(f => f.Key.Name, StringComparer.Ordinal)
                    .Select(f => new SourceFile($"memory://{shelf}/{f.Key.Name}", f.Value.Length, "v1", _ => ValueTask.FromResult<Stream>(new MemoryStream(f.Value, writable: false))))];
                return Task.FromResult(files);
            }
        }
    }
}
