# Run by gimp-console-3.0 --batch-interpreter=python-fu-eval (tests/install/fresh-user.sh):
# writes, for each procedure in $GD_PROCS, "NAME 0|1 MENU-PATH..." to $GD_PDB_OUT, then "OK".
import os
from gi.repository import Gimp

pdb = Gimp.get_pdb()
with open(os.environ["GD_PDB_OUT"], "w") as out:
    for name in os.environ["GD_PROCS"].split():
        found = pdb.procedure_exists(name)
        proc = pdb.lookup_procedure(name) if found else None
        menus = proc.get_menu_paths() if proc else []
        out.write("%s %d %s\n" % (name, 1 if found else 0, ";".join(menus)))
        if proc:
            icon = proc.get_icon_file()
            out.write("icon %s %s\n" % (name, icon.get_path() if icon else
                                         "name:" + (proc.get_icon_name() or "")))
    out.write("OK\n")
