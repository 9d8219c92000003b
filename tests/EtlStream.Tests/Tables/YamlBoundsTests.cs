using System.Text;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Tables;

/// <summary>Hostile YAML in a spec or a tenant.yaml: refused with the file and place, never a hang or a stack overflow.</summary>
public sealed class YamlBoundsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary><c>key: [[[…]]]</c>, <paramref name="depth"/> brackets deep, on line 2 after <c>table: t</c>.</summary>
    private static string Nested(string key, int depth) =>
        new StringBuilder("table: t\n").Append(key).Append(": ").Append('[', depth).Append(']', depth).Append('\n').ToString();

    /// <summary>Ten anchors, each a list of nine aliases of the one before (9^9 nodes written out), the last one used as a mapping key.</summary>
    private static string BillionLaughsKey()
    {
        var yaml = new StringBuilder("table: t\ncolumns:\n  - { name: a, type: string }\nl0: &l0 [lol]\n");
        for (var i = 1; i < 10; i++)
        {
            yaml.Append($"l{i}: &l{i} [").AppendJoin(", ", Enumerable.Repeat($"*l{i - 1}", 9)).Append("]\n");
        }

        return yaml.Append("? *l9\n: boom\n").ToString();
    }

    [Fact]
    public async Task A_spec_nested_100000_deep_is_refused_at_the_65th_level_naming_the_place()
    {
        // The root mapping is level 1, so the 64th bracket (column 10 + 63) is the 65th level.
        var e = await Assert.ThrowsAsync<ConfigException>(() => Task.Run(() => TableSpecReader.Read(Nested("columns", 100_000), "deep.yaml")).WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(["deep.yaml:2:73: nesting deeper than 64 levels"], e.Errors);
    }

    [Fact]
    public void Sixty_four_levels_are_read_and_sixty_five_are_not()
    {
        var ok = Assert.Throws<ConfigException>(() => TableSpecReader.Read(Nested("x", 63), "s.yaml"));
        Assert.DoesNotContain(ok.Errors, e => e.Contains("nesting", StringComparison.Ordinal));
        Assert.Contains("s.yaml: x: unknown key (expected one of: table, format, csv, json, trim, columns, filter, key, on_error, max_reject_ratio, schema_drift, decompression)", ok.Errors);

        var deep = Assert.Throws<ConfigException>(() => TableSpecReader.Read(Nested("x", 64), "s.yaml"));
        Assert.Equal(["s.yaml:2:67: nesting deeper than 64 levels"], deep.Errors);
    }

    [Fact]
    public async Task A_billion_laughs_used_as_a_mapping_key_is_refused_before_it_is_expanded()
    {
        var e = await Assert.ThrowsAsync<ConfigException>(() => Task.Run(() => TableSpecReader.Read(BillionLaughsKey(), "lol.yaml")).WaitAsync(TimeSpan.FromMinutes(1)));
        // l4 stands for 13,942 nodes: the seventh alias of it in l5 (line 9) passes 100,000.
        Assert.Equal(["lol.yaml:9:40: more than 100,000 nodes, aliases written out"], e.Errors);
    }

    [Fact]
    public void Anchors_and_aliases_of_an_ordinary_spec_still_work()
    {
        var spec = TableSpecReader.Read("""
            table: t
            columns:
              - name: a
                type: &text varchar(8)
                null: &nulls [NA, "-"]
              - name: b
                type: *text
                null: *nulls
            """, "s.yaml");
        Assert.Equal(["varchar(8)", "varchar(8)"], spec.Columns.Select(c => c.Type.ToString()));
        Assert.Equal(["NA", "-"], spec.Columns[1].NullTokens);
    }

    [Fact]
    public async Task An_alias_inside_the_node_its_anchor_names_is_refused_not_followed_until_the_stack_overflows()
    {
        // Found by the yaml fuzz target (perf/EtlStream.Fuzz, FUZZ_TARGET=yaml): the second &b hid the first, and
        // YamlDotNet resolved *b to the sequence holding it; the tenant reader's placeholder check overflowed the stack.
        var root = _dir.File("configs");
        var folder = Path.Combine(root, "tenants", "acme");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "tenant.yaml");
        await File.WriteAllTextAsync(file, "tenant: acme\na: &b [ x, &b [1, 2], *b ]\n");

        var tenants = await Task.Run(() => TenantConfigReader.ReadAll(root, out var errors) is var t ? (t, errors) : default).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Empty(tenants.t);
        Assert.Equal([$"{file}:2:12: anchor &b is defined twice (give each anchor its own name)"], tenants.errors);

        var mutual = Assert.Throws<ConfigException>(() => TableSpecReader.Read("table: t\nb: &b [*c]\nc: &c [*b]\n", "m.yaml"));
        Assert.Equal(["m.yaml:2:8: alias *c comes before any anchor &c"], mutual.Errors);

        // The fuzzer's own input also made YamlDotNet's scanner throw InvalidOperationException: a YAML error here.
        var scanner = Assert.Throws<ConfigException>(() => TableSpecReader.Read("a: &a [x, &b [ &c [*a, *a]\nc: &, *b]\n", "f.yaml"));
        Assert.Equal(["f.yaml:1:9: invalid YAML: the parser could not read on after this point"], scanner.Errors);

        var cycle = Assert.Throws<ConfigException>(() => TableSpecReader.Read("table: t\ncolumns: &c [ { name: a, type: string }, *c ]\n", "c.yaml"));
        Assert.Equal(["c.yaml:2:42: alias *c is inside the node its anchor names (a cycle)"], cycle.Errors);
    }

    [Fact]
    public async Task A_key_that_is_a_list_is_an_error_naming_its_place_not_an_invalid_cast()
    {
        // Found by the yaml fuzz target: `? [a]: …` under jobs threw InvalidCastException out of the tenant reader.
        var root = _dir.File("configs");
        var folder = Path.Combine(root, "tenants", "acme");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "tenant.yaml");
        await File.WriteAllTextAsync(file, "tenant: acme\njobs:\n  ? [a, b]\n  : { steps: [] }\ntables:\n  ? { x: 1 }\n  : { schema: s }\n");

        TenantConfigReader.ReadAll(root, out var errors);
        Assert.Contains($"{file}: jobs: a key must be a name, not a list (line 3)", errors);
        Assert.Contains($"{file}: tables: a key must be a name, not a mapping (line 6)", errors);
    }

    [Fact]
    public async Task A_tenant_yaml_nested_100000_deep_is_refused_naming_the_file()
    {
        var root = _dir.File("configs");
        var folder = Path.Combine(root, "tenants", "acme");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "tenant.yaml");
        await File.WriteAllTextAsync(file, "tenant: acme\ndatabase: " + new string('{', 100_000) + new string('}', 100_000) + "\n");

        var tenants = await Task.Run(() => TenantConfigReader.ReadAll(root, out var errors) is var t ? (t, errors) : default).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Empty(tenants.t);
        Assert.Equal([$"{file}:2:74: nesting deeper than 64 levels"], tenants.errors);
    }

    [Fact]
    public async Task The_cli_exits_2_not_134_on_a_deep_spec_and_a_deep_tenant()
    {
        var spec = _dir.File("deep.yaml");
        await File.WriteAllTextAsync(spec, Nested("columns", 100_000));
        var input = _dir.File("one.csv");
        await File.WriteAllTextAsync(input, "a\n1\n");
        var load = await CliTests.RunAsync(_dir.Path, "load", input, "--table", spec, "--to", $"parquet:{_dir.File("out.parquet")}");
        Assert.Equal((2, "", $"error: {spec}:2:73: nesting deeper than 64 levels\n"), load);

        var root = _dir.File("configs");
        var folder = Path.Combine(root, "tenants", "acme");
        Directory.CreateDirectory(folder);
        var tenant = Path.Combine(folder, "tenant.yaml");
        await File.WriteAllTextAsync(tenant, BillionLaughsKey().Replace("table: t\n", "tenant: acme\n", StringComparison.Ordinal));
        var validate = await CliTests.RunAsync(_dir.Path, "validate", "--config", root);
        Assert.Equal((2, "", $"error: {tenant}:9:40: more than 100,000 nodes, aliases written out\n"), validate);

        await File.WriteAllTextAsync(tenant, Nested("tenant", 100_000));
        validate = await CliTests.RunAsync(_dir.Path, "validate", "--config", root);
        Assert.Equal((2, "", $"error: {tenant}:2:72: nesting deeper than 64 levels\n"), validate);
    }
}
