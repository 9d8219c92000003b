using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

public static partial class TenantConfigReader
{
    private static SinkConfig? ReadSink(NodeReader r, YamlMappingNode root, Secrets secrets, string home)
    {
        if (r.Child(root, "sink") is not YamlMappingNode m)
        {
            r.Error("sink", "required: { kind: duckdb, path: <file> }");
            return null;
        }

        r.CheckKeys(m, "sink", SinkKeys);
        var kind = r.RequiredString(m, "sink", "kind");
        var provider = kind is null ? null : Sinks.SinkRegistry.ForKind(kind);
        if (kind is not null && provider is null)
        {
            r.Error("sink.kind", $"'{kind}' is not supported yet ({string.Join(", ", Sinks.SinkRegistry.TenantKinds)})");
        }

        var path = Resolved(r, m, "sink", "path", secrets);
        if (path is null)
        {
            r.Error("sink.path", "required");
        }

        var password = Resolved(r, m, "sink", "password", secrets);
        if (provider is null || path is null)
        {
            return null;
        }

        if (r.String(m, "sink", "sslmode") is { } sslmode)
        {
            path = WithSslMode(r, provider, path, sslmode);
        }

        // An alias is read as its kind: one sink, one ledger name, whichever the tenant calls it.
        var sink = new SinkConfig(provider.Kind, path, password);
        foreach (var (at, message) in provider.Validate(sink, r.String(root, "", "database")))
        {
            r.Error(at, message);
        }

        return sink with { Path = provider.ResolvePath(path, home) };
    }

    /// <summary>
    /// <c>sink.sslmode</c> becomes the PostgreSQL target's <c>sslmode=</c>, where the target parser validates it once for
    /// the CLI and tenants alike; a path that sets it too would leave two answers, so that is an error.
    /// </summary>
    private static string WithSslMode(NodeReader r, Sinks.SinkProvider provider, string path, string sslmode)
    {
        if (!provider.TakesSslMode)
        {
            var kinds = Sinks.SinkRegistry.Providers.Where(p => p.TakesSslMode).Select(p => p.Kind);
            r.Error("sink.sslmode", $"only a {string.Join(" or ", kinds)} sink takes sslmode (this sink is {provider.Kind})");
            return path;
        }

        if (!Sinks.Sql.ServerTarget.SslModes.Contains(sslmode.ToLowerInvariant(), StringComparer.Ordinal))
        {
            r.Error("sink.sslmode", $"unknown sslmode '{sslmode}' (expected {Sinks.Sql.ServerTarget.SslModeList})");
            return path;
        }

        if (path.Contains("sslmode=", StringComparison.OrdinalIgnoreCase))
        {
            r.Error("sink.sslmode", "sink.path sets sslmode= too: give it in one place");
            return path;
        }

        return path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "sslmode=" + sslmode.ToLowerInvariant();
    }
}
