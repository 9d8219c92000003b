using System.CommandLine;
using EtlStream.Tables;

namespace EtlStream.Cli.Commands;

/// <summary>
/// The installation a tenant command works on: the folder holding <c>configs/</c>, where <c>state/</c>, <c>logs/</c>
/// and <c>rejects/</c> live too and the relative paths of every tenant.yaml start. Found from <c>--config-root</c>,
/// <c>--config</c> (the configs folder itself), <c>ETLSTREAM_HOME</c>, or the nearest folder at or above the
/// current one that holds <c>configs/tenants</c>; with none, the command stops (exit 2) instead of listing no
/// tenants or creating a ledger wherever it was started.
/// </summary>
internal sealed record ConfigRoot(string Root, string Configs)
{
    public const string HomeVariable = "ETLSTREAM_HOME";

    public string Ledger => Path.Combine(Root, "state", "ledger.db");

    public string Logs => Path.Combine(Root, "logs");

    public string Rejects => Path.Combine(Root, "rejects");

    /// <summary>Finds the root from the options, the environment, or the current folder and its parents.</summary>
    public static ConfigRoot Find(string? configRoot, string? configs)
    {
        if (configRoot is not null && configs is not null)
        {
            throw new ConfigException(["pass --config-root (the folder holding configs/) or --config (the configs folder), not both"]);
        }

        if (configs is not null)
        {
            var full = Path.GetFullPath(configs);
            return Directory.Exists(Path.Combine(full, "tenants"))
                ? new ConfigRoot(Path.GetDirectoryName(full) ?? full, full)
                : throw new ConfigException([$"--config {configs}: no tenants folder in it"]);
        }

        if (configRoot is not null)
        {
            return Holding(configRoot) ?? throw new ConfigException([$"--config-root {configRoot}: no configs/tenants folder in it"]);
        }

        if (Environment.GetEnvironmentVariable(HomeVariable) is { Length: > 0 } home)
        {
            return Holding(home) ?? throw new ConfigException([$"{HomeVariable}={home}: no configs/tenants folder in it"]);
        }

        var here = Directory.GetCurrentDirectory();
        for (var folder = new DirectoryInfo(here); folder is not null; folder = folder.Parent)
        {
            if (Holding(folder.FullName) is { } found)
            {
                return found;
            }
        }

        throw new ConfigException([$"no configs/tenants folder here or above {here}; pass --config-root or set {HomeVariable}"]);
    }

    /// <summary>
    /// The installation an ad-hoc <c>load</c> books its files in, when there is one (<c>ETLSTREAM_HOME</c>, or the
    /// nearest folder here or above holding <c>configs/tenants</c>); null elsewhere, where a load needs none.
    /// </summary>
    public static ConfigRoot? Nearest()
    {
        try
        {
            return Find(null, null);
        }
        catch (ConfigException)
        {
            return null;
        }
    }

    private static ConfigRoot? Holding(string folder)
    {
        var full = Path.GetFullPath(folder);
        var configs = Path.Combine(full, "configs");
        return Directory.Exists(Path.Combine(configs, "tenants")) ? new ConfigRoot(full, configs) : null;
    }
}

/// <summary>The two options that name the root; every tenant command takes both.</summary>
internal sealed class ConfigRootOptions
{
    public Option<string?> Root { get; } = new("--config-root")
    {
        Description = $"The folder holding configs/ (state/, logs/ and rejects/ go there too, and tenant paths start there). Default: ${ConfigRoot.HomeVariable}, else the nearest folder here or above with configs/tenants.",
    };

    public Option<string?> Configs { get; } = new("--config") { Description = "The configs folder itself (schemas/ and tenants/); the root is its parent." };

    public void AddTo(Command command)
    {
        command.Options.Add(Root);
        command.Options.Add(Configs);
    }

    public ConfigRoot Find(ParseResult parse) => ConfigRoot.Find(parse.GetValue(Root), parse.GetValue(Configs));
}
