using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

public static partial class TenantConfigReader
{
    private static SourceConfig? ReadSource(NodeReader r, YamlMappingNode root, Secrets secrets, string home)
    {
        if (r.Child(root, "source") is not YamlMappingNode m)
        {
            r.Error("source", $"required: {Sources.SourceStoreRegistry.ConfigForms}");
            return null;
        }

        var settingKeys = Sources.SourceStoreRegistry.Settings;
        r.CheckKeys(m, "source", ["kind", "path", .. settingKeys]);
        var kind = r.RequiredString(m, "source", "kind");
        if (kind is null)
        {
            return null;
        }

        if (Sources.SourceStoreRegistry.ForKind(kind) is not { } provider)
        {
            r.Error("source.kind", Sources.SourceStoreRegistry.NotSupported(kind));
            return null;
        }

        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in settingKeys)
        {
            if (Resolved(r, m, "source", key, secrets) is not { } v)
            {
                continue;
            }

            if (!provider.Settings.Contains(key, StringComparer.Ordinal))
            {
                r.Error($"source.{key}", $"not a setting of a {kind} source ({string.Join(", ", ["path", .. provider.Settings])})");
                continue;
            }

            settings[key] = v;
        }

        var source = new SourceConfig(kind, provider.ResolvePath(Resolved(r, m, "source", "path", secrets) ?? "", home), settings);
        provider.ProtectSecrets(source);
        var problems = provider.Validate(source);
        foreach (var (at, message) in problems)
        {
            r.Error(at, message);
        }

        return problems.Count > 0 ? null : source;
    }
}
