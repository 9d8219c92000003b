using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

public static partial class TenantConfigReader
{
    private static RlsConfig? ReadRls(NodeReader r, YamlMappingNode root, Dictionary<string, TenantTable> tables, HashSet<string> declared)
    {
        if (r.Child(root, "rls") is not YamlMappingNode m)
        {
            return null;
        }

        r.CheckKeys(m, "rls", RlsKeys);
        var views = new List<RlsView>();
        if (r.Child(m, "views") is YamlSequenceNode seq)
        {
            for (var i = 0; i < seq.Children.Count; i++)
            {
                var vp = $"rls.views[{i}]";
                if (seq.Children[i] is not YamlMappingNode v)
                {
                    r.Error(vp, "a view is { table, view, column }");
                    continue;
                }

                r.CheckKeys(v, vp, ViewKeys);
                var table = r.RequiredString(v, vp, "table");
                var column = r.RequiredString(v, vp, "column");
                if (table is null || column is null)
                {
                    continue;
                }

                if (!tables.TryGetValue(table, out var t))
                {
                    if (!declared.Contains(table))
                    {
                        r.Error($"{vp}.table", $"unknown table '{table}'");
                    }

                    continue;
                }

                if (!t.Spec.Columns.Any(c => string.Equals(c.Name, column, StringComparison.OrdinalIgnoreCase)))
                {
                    r.Error($"{vp}.column", $"table '{table}' has no column '{column}'");
                }

                views.Add(new RlsView(table, r.String(v, vp, "view") ?? $"secure_{table}", column));
            }
        }

        return new RlsConfig(r.String(m, "rls", "access_table") ?? "user_access", r.String(m, "rls", "user_variable") ?? "etlstream_user", views)
        {
            Readers = r.Strings(m, "rls", "readers") ?? [],
        };
    }
}
