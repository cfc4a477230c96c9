"""facegan convert: other implementations' checkpoints -> facegan checkpoint folders."""

from __future__ import annotations

import argparse
import sys

from facegan import checks
from facegan.checks import arg_whole


def _warned(convert):
    """``convert()``, the warnings it gives printed one line each, like the errors."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = convert()
    for w in caught:
        print(f"facegan: warning: {w.message}", file=sys.stderr)
    return model


def _convert_dcgan(args) -> int:
    import importlib

    from facegan import hub
    from facegan.convert import SOURCES

    converter = importlib.import_module(SOURCES[args.source])
    model = _warned(lambda: converter.convert(args.netg, args.netd, nz=args.nz, ngf=args.ngf, ndf=args.ndf))
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.netg, args.netd),
                              extra_config=converter.provenance(args.netg, args.netd))
    c = model.config
    print(f"{out} (dcgan nz={c.nz} ngf={c.ngf} ndf={c.ndf}, prior {c.prior}, "
          f"D {'converted' if args.netd else 'untrained'})")
    return 0


def _convert_ugatit(args) -> int:
    import torch

    from facegan import hub
    from facegan.convert import ugatit as converter

    model = _warned(lambda: converter.convert(args.checkpoint, size=args.size, generators_only=args.generators_only))
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.checkpoint),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.checkpoint, model))
    c = model.config
    print(f"{out} (ugatit {'light' if c.light else 'full'}, {c.image_size}px, ch={c.ch}, n_res={c.n_res}, "
          f"{'generators and discriminators' if c.discriminators else 'generators only'}"
          f"{', fp16' if args.fp16 else ''})")
    return 0


def _convert_stargan(args) -> int:
    import torch

    from facegan import hub
    from facegan.convert import stargan as converter

    labels = [n for n in args.labels.split(",") if n.strip()] if args.labels else None
    model = _warned(lambda: converter.convert(args.checkpoint, args.c_dim, args.d_ckpt, args.image_size, labels,
                                              args.categorical))
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.checkpoint, args.d_ckpt),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.checkpoint, args.d_ckpt))
    c = model.config
    _, group, _ = c.labels.groups()[0]
    print(f"{out} (stargan {c.image_size}px, {group.kind} {group.name}: {', '.join(group.values)}; "
          f"D {'converted' if args.d_ckpt else 'untrained'}{', fp16' if args.fp16 else ''})")
    return 0


def _convert_acgan(args) -> int:
    import torch

    from facegan import hub
    from facegan.convert import acgan as converter

    classes = [n.strip() for n in args.classes.split(",") if n.strip()] if args.classes else None
    model = _warned(lambda: converter.convert(args.netg, args.netd, classes, args.num_classes))
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.netg, args.netd),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.netg, args.netd))
    c = model.config
    print(f"{out} (acgan paper backbone {c.image_size}px, nz={c.nz}, prior {c.prior}, {len(c.classes)} classes: "
          f"{', '.join(c.classes)}; D {'converted' if args.netd else 'untrained'}{', fp16' if args.fp16 else ''})")
    return 0


def _convert_stylegan(args) -> int:
    import torch

    from facegan import hub
    from facegan.convert import stylegan as converter

    model = _warned(lambda: converter.convert(args.checkpoint))
    out = hub.save_pretrained(model, args.out, converter.model_card(model, args.checkpoint),
                              dtype=torch.float16 if args.fp16 else None,
                              extra_config=converter.provenance(args.checkpoint, model))
    c, info = model.config, model.converted_from
    d = "converted" if info["discriminator"] else "untrained" if c.discriminators else "not included (generator-only)"
    print(f"{out} (stylegan{' v1' if c.architecture == 'stylegan1' else ''} {c.image_size}px from {info['source']}, "
          f"z_dim={c.z_dim}, w_dim={c.w_dim}, {c.mapping_layers} mapping layers, channel_base={c.channel_base}, "
          f"channel_max={c.channel_max}; D {d}{', fp16' if args.fp16 else ''})")
    return 0


def add(sub, model_args: argparse.ArgumentParser, render_args: argparse.ArgumentParser) -> None:
    """The parsers of these verbs."""
    from facegan.convert import BY_TECHNIQUE

    c = sub.add_parser("convert", help="convert another implementation's checkpoint into a facegan one",
                       description="Read another implementation's weights (as data: tensors only, never code) and "
                                   "write a facegan checkpoint folder (config.json, model.safetensors, README.md).")
    cs = c.add_subparsers(dest="technique", required=True, metavar="technique")
    cd = cs.add_parser("dcgan", help="pytorch/examples dcgan/main.py netG/netD_epoch_N.pth -> a DCGAN",
                       description="pytorch/examples dcgan/main.py checkpoints -> a facegan DCGAN checkpoint folder.")
    cd.add_argument("--from", dest="source", required=True, choices=list(BY_TECHNIQUE["dcgan"]),
                    help="pytorch-examples: netG_epoch_N.pth / netD_epoch_N.pth of pytorch/examples dcgan/main.py")
    cd.add_argument("--netg", required=True, help="the generator's state_dict, e.g. netG_epoch_24.pth")
    cd.add_argument("--netd", help="the discriminator's state_dict, e.g. netD_epoch_24.pth "
                                   "(without it D is untrained and ranking by D means nothing)")
    cd.add_argument("--out", required=True, help="the checkpoint folder to write")
    cd.add_argument("--nz", type=arg_whole("nz", 1, checks.MAX_WIDTH),
                    help="check the latent size (default: read from the weights)")
    cd.add_argument("--ngf", type=arg_whole("ngf", 1, checks.MAX_WIDTH),
                    help="check G's width (default: read from the weights)")
    cd.add_argument("--ndf", type=arg_whole("ndf", 1, checks.MAX_WIDTH),
                    help="check D's width; without --netd, the fresh D's width (default: ngf)")
    cd.set_defaults(func=_convert_dcgan)
    cu = cs.add_parser("ugatit", help="a znxlwm/UGATIT-pytorch <dataset>_params_<step>.pt -> a U-GAT-IT",
                       description="The official U-GAT-IT PyTorch code's checkpoint (UGATIT.save(): genA2B, genB2A, "
                                   "disGA, disGB, disLA, disLB) -> a facegan U-GAT-IT checkpoint folder; ch, n_res "
                                   "and light/full are read from the weights.")
    cu.add_argument("checkpoint", help="the official checkpoint, e.g. selfie2anime_params_0100000.pt")
    cu.add_argument("--out", required=True, help="the checkpoint folder to write")
    cu.add_argument("--size", type=arg_whole("size", 8, checks.MAX_IMAGE_SIZE),
                    help="image size: for the light variant any multiple of 4 (default 256, the official "
                         "--img_size); the full variant's is read from the weights and --size must match it")
    cu.add_argument("--generators-only", action="store_true", dest="generators_only",
                    help="leave the discriminators out (a smaller checkpoint that translates but cannot be trained)")
    cu.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    cu.set_defaults(func=_convert_ugatit)
    cs_ = cs.add_parser("stargan", help="a yunjey/stargan <step>-G.ckpt (+ <step>-D.ckpt) -> a StarGAN",
                        description="The official StarGAN code's checkpoints (solver.py saves G's and D's state_dicts "
                                    "as <step>-G.ckpt, <step>-D.ckpt) -> a facegan StarGAN checkpoint folder; widths "
                                    "and depths are read from the weights.")
    cs_.add_argument("checkpoint", help="the generator's state_dict, e.g. 200000-G.ckpt")
    cs_.add_argument("--c-dim", type=arg_whole("c-dim", 1, checks.MAX_LABELS), required=True, dest="c_dim",
                     help="the official --c_dim: how many labels the model was trained with (5 for the CelebA default)")
    cs_.add_argument("--out", required=True, help="the checkpoint folder to write")
    cs_.add_argument("--d-ckpt", dest="d_ckpt",
                     help="the discriminator's state_dict, e.g. 200000-D.ckpt (without it D is untrained, and its "
                          "reading of a picture's labels means nothing)")
    cs_.add_argument("--image-size", type=arg_whole("image-size", 8, checks.MAX_IMAGE_SIZE), dest="image_size",
                     help="image size (default: read from --d-ckpt, else 128, the official --image_size)")
    cs_.add_argument("--labels", help="names of the c_dim labels in order, comma-separated (the official "
                                      "--selected_attrs, e.g. Black_Hair,Blond_Hair,Brown_Hair,Male,Young); "
                                      "default attr0..")
    cs_.add_argument("--categorical", action="store_true",
                     help="the labels are one-hot categories (RaFD's expressions, cross-entropy) rather than "
                          "independent attributes (CelebA, BCE)")
    cs_.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    cs_.set_defaults(func=_convert_stargan)
    ca = cs.add_parser("acgan", help="a gitlimlab/ACGAN-PyTorch netG_epoch_N.pth (+ netD) -> an AC-GAN",
                       description="gitlimlab/ACGAN-PyTorch main.py checkpoints (netG_epoch_N.pth, netD_epoch_N.pth: "
                                   "state_dicts of the paper's ImageNet 128 px or CIFAR-10 32 px nets) -> a facegan "
                                   "AC-GAN checkpoint folder (backbone \"paper\", normal prior); the image size and "
                                   "the noise size are read from the weights, the number of classes from --netd.")
    ca.add_argument("netg", metavar="NETG", help="the generator's state_dict, e.g. netG_epoch_499.pth")
    ca.add_argument("--netd", help="the discriminator's state_dict, e.g. netD_epoch_499.pth (gives the number of "
                                   "classes; without it D is untrained and its readings mean nothing)")
    ca.add_argument("--out", required=True, help="the checkpoint folder to write")
    ca.add_argument("--classes", help="the class names in label order, comma-separated (default: CIFAR-10's for a "
                                      "32 px model of 10 classes, else class0..)")
    ca.add_argument("--num-classes", type=arg_whole("num-classes", 2, 1000), dest="num_classes",  # 1000: acgan.MAX_CLASSES
                    help="the number of classes (gitlimlab's --num_classes; default: read from --netd, else the "
                         "--classes given, else 10)")
    ca.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    ca.set_defaults(func=_convert_acgan)
    cg = cs.add_parser("stylegan", help="a rosinality/stylegan2-pytorch .pt or a stylegan2-ada-pytorch network "
                                        "pickle -> a StyleGAN2; a genforce StyleGAN (v1) file -> a StyleGAN v1",
                       description="A StyleGAN2 checkpoint -> a facegan StyleGAN2 checkpoint folder; the format is "
                                   "recognised from the contents: rosinality/stylegan2-pytorch's train.py .pt "
                                   "({g, d, g_ema, ..., args}) or convert_weight.py output ({g_ema, latent_avg}), "
                                   "or an NVlabs/stylegan2-ada-pytorch network pickle ({G, D, G_ema, ...}, read "
                                   "with a restricted unpickler: the code it carries is never run); or a genforce "
                                   "StyleGAN (v1) state_dict ({generator, generator_smooth, discriminator} or a bare "
                                   "generator, e.g. pytorch_model.bin), converted generator-only. Sizes are read "
                                   "from the weights; a StyleGAN2's D is converted when the file has one.")
    cg.add_argument("checkpoint", help="the file, e.g. 550000.pt, network-snapshot-025000.pkl or pytorch_model.bin")
    cg.add_argument("--out", required=True, help="the checkpoint folder to write")
    cg.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    cg.set_defaults(func=_convert_stylegan)
